"""Collection levers (*leviers de trésorerie*): each a frozen, validated spec that turns a ``Book`` into a new ``Book``.

A lever never touches the engine. It changes what the engine is given (docs/design.md, ``Book``):

- **pmf rows** — *when* and *whether* an invoice is paid. Rows are transformed per unique (profile, lever day)
  combination, vectorised over those combinations, appended to ``Book.pmfs`` only when new (deduplicated), and
  the selected invoices point at them. Timing transforms keep each row's sum (the never-paid mass); the formal
  steps — a formal notice or litigation in a dunning plan, a cut-off threat — also **recover** a share of the
  never-paid mass, paid over a response window after the action: cash the customer owes and would otherwise
  never pay. Reminders and calls act on timing only (a conservative choice: no source sizes their effect on bad
  debt).
- **invoice rows** — *how much and when for sure*: ``upfront_amount``/``upfront_date`` (deposit, financing advance,
  already deducted from ``amount``) and ``discount_rate``/``discount_day`` (an early-payment discount the engine
  books as a cost, path by path).

Conservation (tested with hypothesis): for every invoice, ``upfront_amount + amount + fees`` equals its face value
before the lever (a deposit's lost orders lower it), the discount the engine may book never exceeds the amount,
and expected cash + discounts + fees never exceed the face value: **no lever creates cash**. Timing levers leave
expected cash + discounts unchanged over an unlimited horizon; recovery raises it toward the face value; a deposit
or a financing advance is certain cash, so its part no longer carries the never-paid risk (financing *with
recourse* would claw the advance back: see its risk note).
No lever adds or removes an invoice row, so the engine draws the same uniforms for the same invoice with the same
seed: comparisons run on common random numbers.

Each lever has
- ``apply(book, model=None) -> Book`` — pure; ``model`` (a ``PayerModel``) is optional and only refines it
  (promise keep rates, disputed profiles, payment methods);
- ``costs(book, model=None, after=None) -> DataFrame`` — expected costs by month: ``lever, month, item, amount,
  in_simulation`` (``in_simulation=True``: a discount the engine books per path in ``Simulation.daily_cost``; the
  other rows are expected values computed here from the book's laws; ``after``: the result of ``apply``, when known);
- ``actions(book, model=None) -> DataFrame`` — who is targeted (which customers to offer a discount, whom to call);
- ``risk`` (``none``/``low``/``medium``/``high``) and ``risk_note`` — the relationship risk and churn.

Defaults carry their source (research notes, ``methods.md`` section 3); [W] marks a weak source and
"assumption" a figure no source sizes — set your own.

Example::

    >>> lever = EarlyPaymentDiscount(rate=0.02, deadline_days=10)
    >>> round(annualised_discount_rate(0.02, 10, 30), 3)      # 2/10 net 30 costs 37.2 % a year
    0.372

Deviations from docs/design.md: ``apply`` takes ``(book, model=None)`` (the params a lever needs are its own
fields); ``cost`` became ``costs(book, model)`` returning expected costs by month, because most costs (staff time,
fees, lost margin) are not in the ``Simulation``; the discount cost is read from ``Simulation.daily_cost`` by
:mod:`cashsim.compare`. Levers only read ``Book`` attributes and build the new one with :meth:`Book.derive`.

Building a lever with bad values raises :class:`cashsim.errors.ParamsError` naming the lever kind and the field
(:mod:`cashsim.levers.spec`). The package, one concept per module:

- :mod:`~cashsim.levers.transforms` — pure pmf row operations (mass kept per row) and a discount's annual cost;
- :mod:`~cashsim.levers._book` — book plumbing: day indexes, laws given ``min_day``, selection, cost tables;
- :mod:`~cashsim.levers.spec` — the contract every lever follows (:class:`LeverSpec`) and its errors;
- :mod:`~cashsim.levers.channels` — each (channel, tone)'s effect, cost, risk and recovery; the escalation ladder;
- :mod:`~cashsim.levers.discount`, :mod:`~cashsim.levers.dunning`, :mod:`~cashsim.levers.payment_terms`
  (deposit, direct debit), :mod:`~cashsim.levers.overdue` (promise calls, cut-off threat),
  :mod:`~cashsim.levers.disputes` (dispute resolution within service levels), :mod:`~cashsim.levers.rebate`
  (year-end rebate for paying on time), :mod:`~cashsim.levers.financing` — the levers;
- :mod:`~cashsim.levers.escalation` — a dunning plan built up to any rung of the ladder (:func:`escalate`);
- :mod:`~cashsim.levers.apply` — applying levers in order, the params' ``Lever`` union, exact expected collections;
- :mod:`~cashsim.levers.calibration` — the company's own figures (dunning effects and recovery, dispute share,
  annotated book);
- :mod:`~cashsim.levers.recovery` — cash recovered (otherwise lost) vs brought forward between two books.
"""

from cashsim.levers._book import COST_COLUMNS, Segments, conditional_laws, empty_costs
from cashsim.levers.apply import Lever, apply_levers, apply_levers_traced, expected_collections, face_value
from cashsim.levers.calibration import (
    annotate_book,
    calibrate_dunning,
    dispute_share_of_late,
    estimate_dunning_effects,
    estimate_recovery,
)
from cashsim.levers.channels import CHANNEL_DEFAULTS, DEFAULT_TONE, DUNNING_DEFAULTS, LADDER, RUNG, Channel, Tone
from cashsim.levers.discount import REFERENCE_DISCOUNT, EarlyPaymentDiscount
from cashsim.levers.disputes import DEFAULT_SLA_DAYS, DisputeResolution
from cashsim.levers.dunning import DunningPlan, DunningStep
from cashsim.levers.escalation import escalate, truncate
from cashsim.levers.financing import FINANCING_DEFAULTS, Financing
from cashsim.levers.overdue import CutOffThreat, PromiseCalls
from cashsim.levers.payment_terms import Deposit, DirectDebit
from cashsim.levers.rebate import REFERENCE_REBATE, PaymentRebate
from cashsim.levers.recovery import cash_by_date, recovered_cash
from cashsim.levers.spec import RISK_LEVELS, LeverSpec, Probability, Risk
from cashsim.levers.transforms import (
    annualised_discount_rate,
    cap_survival,
    forfeit,
    pull_forward,
    recover,
    scale_hazard,
    shift_days,
    window_multiplier,
)

__all__ = [
    "CHANNEL_DEFAULTS", "COST_COLUMNS", "DEFAULT_SLA_DAYS", "DEFAULT_TONE", "DUNNING_DEFAULTS", "FINANCING_DEFAULTS",
    "LADDER", "REFERENCE_DISCOUNT", "REFERENCE_REBATE", "RISK_LEVELS", "RUNG",
    "Channel", "CutOffThreat", "Deposit", "DirectDebit", "DisputeResolution", "DunningPlan", "DunningStep",
    "EarlyPaymentDiscount", "Financing", "Lever", "LeverSpec", "PaymentRebate", "Probability", "PromiseCalls", "Risk",
    "Segments", "Tone",
    "annotate_book", "annualised_discount_rate", "apply_levers", "apply_levers_traced", "calibrate_dunning",
    "cap_survival", "cash_by_date", "conditional_laws", "dispute_share_of_late", "empty_costs", "escalate",
    "estimate_dunning_effects", "estimate_recovery", "expected_collections", "face_value", "forfeit", "pull_forward",
    "recover", "recovered_cash", "scale_hazard", "shift_days", "truncate", "window_multiplier",
]
