"""Dunning channels and tones (*canaux et tons de relance*): each (channel, tone) has its own effect, cost and risk.

One table, :data:`DUNNING_DEFAULTS`, keyed by (channel, tone), gives for one dunning action:

- ``effect`` g and ``effect_days`` k: the daily hazard of paying is multiplied by 1 + g for k days after it;
- ``cost``: euros per action (staff time at 45 EUR/h, postage, fees);
- ``relationship_risk``: none / low / medium / high — what it may cost in goodwill;
- ``recovery`` and ``recovery_window`` (first, last day after the action): the share of the **never-paid** mass
  (what the company would otherwise lose) that the action recovers, paid evenly over that window. Only the
  formal and legal steps recover: reminders and calls act on timing (a conservative choice: no source sizes
  their effect on bad debt).

:data:`DEFAULT_TONE` is each channel's tone when a step does not name one (the tone of the figures before tones
existed). :data:`LADDER` is the escalation ladder (*relances graduées*) in order, with a default day (after the due
date) for each rung; :data:`RUNG` ranks a channel on it (an SMS ranks with the e-mail).

Sources (the project's research notes, methods.md section 3): reminders, Cadena & Schoar (NBER w17020:
an SMS reminder, +7-9 % on-time payment) and a null average in Fuente et al. (EfD DP 24-13, 2024); the personal
touch, Karlan, Morten & Zinman (NBER w17952); letters, Dewies et al. (Behavioural Public Policy 2022); threats,
Fellner, Sausgruber & Traxler (JEEA 2013: a salient sanction deters beyond a plain mailing, a moral appeal does
not); recovery, FIGEC (2015: 9 in 10 defaulting firms are solvent, 90 % of what collectors recover is recovered
amicably, 75 % chance of recovery three months after the due date and under 20 % a year after) and the French
Ministry of Justice (Infostat Justice 178, 2020: 74 % of *injonction de payer* requests granted, an order 36 days
after the request on average); court and bailiff costs 250-400 EUR to an enforceable title (dormane.fr, 2015).
Magnitudes marked "assumption" are ours: set your own, or estimate them from your dunning log
(:func:`cashsim.levers.estimate_dunning_effects`, :func:`cashsim.levers.estimate_recovery`).

Example::

    >>> DUNNING_DEFAULTS[("email", "firm")]["effect"] > DUNNING_DEFAULTS[("email", "friendly")]["effect"]
    True
    >>> [channel for channel, _ in LADDER][:3]
    ['email', 'letter', 'phone']
"""

from __future__ import annotations

from typing import Any, Literal

Channel = Literal["email", "sms", "letter", "phone", "manager_call", "sales_rep", "formal_notice", "litigation"]
Tone = Literal["friendly", "firm", "formal", "legal"]


def _step(effect: float, effect_days: int, cost: float, risk: str, recovery: float = 0.0,
          window: tuple[int, int] = (0, 21)) -> dict[str, Any]:
    return dict(effect=effect, effect_days=effect_days, cost=cost, relationship_risk=risk, recovery=recovery,
                recovery_window=window)


#: Per (channel, tone): hazard effect g over ``effect_days``, euros per action, relationship risk, and the share of
#: the never-paid mass recovered over ``recovery_window`` (days after the action).
DUNNING_DEFAULTS: dict[tuple[str, str], dict[str, Any]] = {
    # a friendly e-mail or SMS: g = 0.3 over 7 days, an assumption between Cadena & Schoar's effect and Fuente et
    # al.'s null; an automated message (0.5 EUR).
    ("email", "friendly"): _step(0.3, 7, 0.5, "none"),
    ("sms", "friendly"): _step(0.3, 7, 0.5, "none"),
    # a firm one states the amount, a date, the late-payment interest and the 40 EUR indemnity (C. com. L441-10,
    # D441-5): the sanction made salient, which is what deterred in Fellner et al.; x 1.5 is an assumption.
    ("email", "firm"): _step(0.45, 7, 0.5, "low"),
    ("sms", "firm"): _step(0.45, 7, 0.5, "low"),
    # a postal letter (*lettre de relance*): a little above an e-mail (redesigned letters raised responses,
    # Dewies et al.), over 10 days for the post; postage and 3 minutes, 4 EUR. Assumption.
    ("letter", "friendly"): _step(0.35, 10, 4.0, "none"),
    ("letter", "firm"): _step(0.5, 10, 4.0, "low"),
    # a person calling: twice an e-mail (reminders worked when they named a person, Karlan et al.); 10 minutes at
    # 45 EUR/h. Assumption; a courteous call risks nothing, a firm one a little.
    ("phone", "friendly"): _step(0.45, 7, 7.5, "none"),
    ("phone", "firm"): _step(0.6, 7, 7.5, "low"),
    # a call up the customer's hierarchy (*appel au supérieur*) or through the sales rep: 20 minutes at 45 EUR/h;
    # stronger and longer than a call to accounts payable, and it spends goodwill. Assumption.
    ("manager_call", "friendly"): _step(0.6, 10, 15.0, "low"),
    ("manager_call", "firm"): _step(0.8, 10, 15.0, "medium"),
    ("sales_rep", "friendly"): _step(0.6, 10, 15.0, "medium"),
    ("sales_rep", "firm"): _step(0.8, 10, 15.0, "high"),
    # formal notice (*mise en demeure*, registered letter): g = 1.0 over 14 days (Fellner et al., magnitude
    # assumed); recovers 25 % of what would otherwise be lost within 3 weeks (its deadline is 8-15 days) — an
    # assumption anchored on FIGEC (most defaulters are solvent, most recovery is amicable); letter + 20 minutes.
    ("formal_notice", "formal"): _step(1.0, 14, 25.0, "high", 0.25, (0, 21)),
    # litigation (*injonction de payer*): g = 1.0 over 30 days; 74 % of requests are granted and the order comes
    # 36 days after the request (Infostat Justice 178), then notice and a month for opposition: half the
    # otherwise-lost mass recovered 36 to 126 days after filing (assumption: not every title is paid); 500 EUR of
    # court, bailiff and lawyer fees (250-400 EUR to the title, dormane.fr, plus the lawyer).
    ("litigation", "legal"): _step(1.0, 30, 500.0, "high", 0.5, (36, 126)),
}

#: The tone a step takes when it names none (each channel's usual tone, and the figures used before tones).
DEFAULT_TONE: dict[str, str] = {"email": "friendly", "sms": "friendly", "letter": "friendly", "phone": "firm",
                                "manager_call": "firm", "sales_rep": "friendly", "formal_notice": "formal",
                                "litigation": "legal"}

#: Each channel's default figures (its default tone): ``CHANNEL_DEFAULTS[channel]`` = the table's row + ``tone``.
CHANNEL_DEFAULTS: dict[str, dict[str, Any]] = {
    c: dict(DUNNING_DEFAULTS[(c, t)], tone=t) for c, t in DEFAULT_TONE.items()}

#: The escalation ladder (*relances graduées*), mildest first, with each rung's default day after the due date:
#: first reminder, second by post, a call, the customer's manager, the sales rep, formal notice, court.
LADDER: tuple[tuple[str, int], ...] = (
    ("email", 7), ("letter", 15), ("phone", 20), ("manager_call", 30), ("sales_rep", 40), ("formal_notice", 50),
    ("litigation", 80))

#: Rank of each channel on the ladder (an SMS ranks with the e-mail).
RUNG: dict[str, int] = {**{c: i for i, (c, _) in enumerate(LADDER)}, "sms": 0}


def tones(channel: str) -> list[str]:
    """The tones a channel can take (``tones("formal_notice")`` = ``['formal']``)."""
    return [t for c, t in DUNNING_DEFAULTS if c == channel]


def step_defaults(channel: str, tone: str | None) -> dict[str, Any]:
    """The default figures of an action on ``channel`` in ``tone`` (None: the channel's default tone).

    Raises ``ValueError`` naming the valid tones when the channel has no such tone.
    """
    tone = DEFAULT_TONE[channel] if tone is None else tone
    if (channel, tone) not in DUNNING_DEFAULTS:
        raise ValueError(f"channel '{channel}' has no tone '{tone}'; valid: {', '.join(tones(channel))}")
    return dict(DUNNING_DEFAULTS[(channel, tone)], tone=tone)
