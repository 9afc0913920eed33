"""Escalation (*relances graduées*): a dunning plan built up to any rung of the ladder, from any starting plan.

Rule of :func:`escalate`: keep every step of the starting plan, insert each rung of :data:`LADDER` up to
``up_to`` that the plan lacks, at its default day moved inside the gap between its lower and higher neighbours (a
rung never lands before a milder step or after a firmer one), set the ``tone`` of every step that can take it,
then move every step ``days_earlier`` days earlier (never before day -60). Escalating to a rung the plan already
has changes nothing; escalation never removes a step (:func:`truncate` keeps only the rungs up to one).

Example, from the demo's plan (e-mail on day 7, phone 15, formal notice 30)::

    >>> plan = DunningPlan(steps=[DunningStep(day=7, channel="email"), DunningStep(day=15, channel="phone"),
    ...                           DunningStep(day=30, channel="formal_notice")])
    >>> [(s.day, s.channel) for s in escalate(plan, up_to="manager_call").steps]
    [(7, 'email'), (11, 'letter'), (15, 'phone'), (22, 'manager_call'), (30, 'formal_notice')]
"""

from __future__ import annotations

from cashsim.errors import ParamsError
from cashsim.levers.channels import LADDER, RUNG, step_defaults, tones
from cashsim.levers.dunning import DunningPlan, DunningStep

#: The earliest day a step may move to (the ``day`` bound of :class:`DunningStep`).
EARLIEST_DAY = -60


def _day_between(default: int, lower: int | None, higher: int | None) -> int:
    """The rung's default day, moved inside (lower, higher): just after ``lower``, or halfway when there is no
    room before ``higher`` (on ``lower`` itself when the two are adjacent)."""
    day = default if lower is None else max(default, lower + 1)
    if higher is not None and day >= higher:
        day = lower if lower is not None and higher - lower < 2 else (
            (lower + higher) // 2 if lower is not None else higher - 1)
    return max(EARLIEST_DAY, day)


def _with_tone(step: DunningStep, tone: str | None) -> DunningStep:
    """The step in ``tone`` where its channel has that tone: unset figures become the (channel, tone) defaults,
    figures set explicitly stay, except ``effect``, scaled by the ratio of the two tones' default effects (a
    calibrated effect keeps its calibration and gains the tone's relative strength)."""
    if tone is None or tone == step.tone or tone not in tones(step.channel):
        return step
    kept = {k: getattr(step, k) for k in step.model_fields_set if k != "tone"}
    if "effect" in kept:
        old, new = step_defaults(step.channel, step.tone)["effect"], step_defaults(step.channel, tone)["effect"]
        kept["effect"] = min(10.0, step.effect * new / old) if old > 0 else step.effect
    return DunningStep(**{**kept, "tone": tone})


def escalate(plan: DunningPlan | list[DunningStep] | None, up_to: str | None = None, *, tone: str | None = None,
             days_earlier: int = 0) -> DunningPlan:
    """The plan with every rung of :data:`LADDER` up to ``up_to`` present, in ``tone``, ``days_earlier`` earlier.

    ``plan``: the starting plan (a :class:`DunningPlan`, its steps, or None for no dunning); its other fields
    (segments, current plan, dispute share) are kept. ``up_to``: a channel of the ladder (None: add no rung).
    ``tone``: friendly / firm / ... applied to every step whose channel has that tone (None: each keeps its own).
    A step whose tone changes takes the new (channel, tone)'s default figures where it had none of its own (an
    explicit ``effect`` is scaled by the tones' ratio). Raises ``ValueError`` for an unknown rung.
    """
    base = plan if isinstance(plan, DunningPlan) else DunningPlan(steps=list(plan or []))
    steps = sorted(base.steps, key=lambda s: (s.day, RUNG.get(s.channel, 0)))
    if up_to is not None:
        if up_to not in RUNG:
            raise ParamsError(f"unknown rung {up_to!r}; the ladder: {', '.join(c for c, _ in LADDER)}", key="up_to")
        have = {RUNG[s.channel] for s in steps}
        for rank, (channel, default) in enumerate(LADDER[:RUNG[up_to] + 1]):
            if rank in have:
                continue
            lower = max((s.day for s in steps if RUNG[s.channel] < rank), default=None)
            higher = min((s.day for s in steps if RUNG[s.channel] > rank), default=None)
            steps.append(DunningStep(day=_day_between(default, lower, higher), channel=channel))
            steps.sort(key=lambda s: (s.day, RUNG.get(s.channel, 0)))
    steps = [_with_tone(s, tone) for s in steps]
    if days_earlier:
        steps = [s.model_copy(update={"day": max(EARLIEST_DAY, s.day - int(days_earlier))}) for s in steps]
    return base.model_copy(update={"steps": steps})


def truncate(plan: DunningPlan | list[DunningStep] | None, up_to: str) -> DunningPlan:
    """The plan without the steps above rung ``up_to`` (a milder plan: ``truncate(plan, "phone")`` drops the
    manager call, formal notice and litigation)."""
    base = plan if isinstance(plan, DunningPlan) else DunningPlan(steps=list(plan or []))
    if up_to not in RUNG:
        raise ParamsError(f"unknown rung {up_to!r}; the ladder: {', '.join(c for c, _ in LADDER)}", key="up_to")
    return base.model_copy(update={"steps": [s for s in base.steps if RUNG[s.channel] <= RUNG[up_to]]})
