"""Collection levers (*leviers de trésorerie*): each a frozen, validated spec that turns a ``Book`` into a new ``Book``.

A lever never touches the engine. It changes what the engine is given (docs/design.md, ``Book``):

- **pmf rows** — *when* an invoice is paid. Rows are transformed per unique (profile, lever day) combination,
  vectorised over those combinations, appended to ``Book.pmfs`` only when new (deduplicated), and the selected
  invoices point at them. Every transform keeps each row's sum, so the never-paid mass is untouched: **a lever
  changes when an invoice is paid, never whether it is** (a conservative choice: dunning surely lowers bad debt
  too, but no source sizes that).
- **invoice rows** — *how much and when for sure*: ``upfront_amount``/``upfront_date`` (deposit, financing advance,
  already deducted from ``amount``) and ``discount_rate``/``discount_day`` (an early-payment discount the engine
  books as a cost, path by path).

Conservation (tested with hypothesis): for every invoice, ``upfront_amount + amount + fees`` equals its face value
before the lever, and the discount the engine may book never exceeds the amount. Timing levers leave expected
cash + discounts unchanged over an unlimited horizon; a deposit or a financing advance is certain cash, so its part
no longer carries the never-paid risk (financing *with recourse* would claw the advance back: see its risk note).
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
:mod:`cashsim.compare`. Levers only read ``Book`` attributes and build the new one with ``dataclasses.replace``.
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Annotated, Any, ClassVar, Literal, Union

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

Probability = Annotated[float, Field(ge=0, le=1)]
Segments = list[str] | None
RISK_LEVELS: tuple[str, ...] = ("none", "low", "medium", "high")
Risk = Literal["none", "low", "medium", "high"]

#: 2/10 net 30 — the terms the take-up figures (BlueTarp [W]) are quoted for.
REFERENCE_DISCOUNT = (0.02, 10, 30)


# ----------------------------------------------------------------------------------------------------------------
# Pure row operations on pmfs (vectorised over rows; G = grid length)
# ----------------------------------------------------------------------------------------------------------------

def annualised_discount_rate(rate: float, deadline_days: float, net_days: float) -> float:
    """Annual cost of an early-payment discount (*escompte pour paiement anticipé*): d/(1-d) x 365/(N-D).

    Paying ``D`` days after issue instead of ``N`` earns ``d`` on ``1-d`` for ``N-D`` days.
    ``annualised_discount_rate(0.02, 10, 30)`` = 0.3724 (37.2 % a year, simple interest).
    """
    span = net_days - deadline_days
    if span <= 0:
        return float("inf")
    return rate / (1.0 - rate) * 365.0 / span


def pull_forward(rows: np.ndarray, to_idx: np.ndarray, lo_idx: np.ndarray, hi_idx: np.ndarray,
                 share: np.ndarray) -> np.ndarray:
    """Move ``share`` of each row's mass on grid positions ``lo_idx < g <= hi_idx`` to position ``to_idx``.

    Rows sums are kept exactly (what leaves a day arrives on ``to_idx``). Arguments after ``rows`` are per row.
    """
    g = np.arange(rows.shape[1])
    band = (g > lo_idx[:, None]) & (g <= hi_idx[:, None])
    moved = rows * band * share[:, None]
    out = rows - moved
    out[np.arange(rows.shape[0]), to_idx] += moved.sum(axis=1)
    return out


def scale_hazard(rows: np.ndarray, multiplier: np.ndarray) -> np.ndarray:
    """Multiply the daily hazard of paying by ``multiplier`` (same shape as ``rows``), keeping each row's sum.

    The hazard is taken on the law *given eventual payment*, q = p / sum(p): h_g = q_g / S_{g-1}, S_g = 1 - sum q.
    New h'_g = min(1, h_g m_g), q'_g = h'_g prod_{j<g}(1 - h'_j); the last grid day takes what is left. The
    never-paid mass is kept: the lever acts on timing only.
    """
    paid = rows.sum(axis=1, keepdims=True)
    q = np.divide(rows, paid, out=np.zeros_like(rows), where=paid > 0)
    surv_before = 1.0 - np.concatenate([np.zeros((rows.shape[0], 1)), np.cumsum(q, axis=1)[:, :-1]], axis=1)
    h = np.divide(q, surv_before, out=np.ones_like(q), where=surv_before > 1e-12)
    h = np.clip(h * multiplier, 0.0, 1.0)
    h[:, -1] = 1.0
    surv = np.cumprod(1.0 - h, axis=1)
    alive = np.concatenate([np.ones((rows.shape[0], 1)), surv[:, :-1]], axis=1)
    return alive * h * paid


def shift_days(rows: np.ndarray, days: np.ndarray, floor_idx: np.ndarray | None = None) -> np.ndarray:
    """Move each row's mass ``days`` grid days later (negative: earlier), piling at the grid ends (or ``floor_idx``)."""
    n, width = rows.shape
    g = np.arange(width)
    target = np.clip(g[None, :] + days[:, None], 0, width - 1)
    if floor_idx is not None:
        target = np.maximum(target, floor_idx[:, None])
    out = np.zeros_like(rows)
    np.add.at(out, (np.repeat(np.arange(n), width), target.ravel()), rows.ravel())
    return out


def window_multiplier(grid: np.ndarray, starts: np.ndarray, lengths: np.ndarray, effects: np.ndarray) -> np.ndarray:
    """Hazard multiplier over ``grid`` of a set of actions: prod_s (1 + g_s) on days [start_s, start_s + k_s).

    ``starts``/``lengths``/``effects`` have shape (n_rows, n_actions) (NaN start = no action); returns (n_rows, G).
    """
    starts = np.atleast_2d(starts)
    on = (grid[None, None, :] >= starts[..., None]) & (grid[None, None, :] < (starts + lengths)[..., None])
    return np.prod(np.where(on, 1.0 + effects[..., None], 1.0), axis=1)


# ----------------------------------------------------------------------------------------------------------------
# Book plumbing (levers only read attributes and build a new Book with dataclasses.replace)
# ----------------------------------------------------------------------------------------------------------------

def _with(book: Any, **changes: Any) -> Any:
    return dataclasses.replace(book, **changes)


def _day_index(book: Any, dates: pd.Series) -> np.ndarray:
    """Absolute day index of dates (day 0 = as_of + 1); NaT -> a large negative number."""
    as_of = pd.Timestamp(book.as_of).normalize()
    d = (pd.to_datetime(dates).astype("datetime64[ns]") - as_of).dt.days.to_numpy(dtype=float) - 1
    return np.where(np.isnan(d), -10**6, d).astype(np.int64)


def _rel_to_due(book: Any, dates: pd.Series) -> np.ndarray:
    """Days of ``dates`` relative to each invoice's due date (signed, calendar days)."""
    inv = book.invoices
    return (pd.to_datetime(dates).astype("datetime64[ns]")
            - inv["due_date"].astype("datetime64[ns]")).dt.days.to_numpy(dtype=np.int64)


def _month(dates: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    return pd.DatetimeIndex(pd.to_datetime(dates)).strftime("%Y-%m").to_numpy()


def _ensure_columns(book: Any) -> pd.DataFrame:
    """The invoice table with the optional Book columns present (0 / NaT / NaN when none) and ``base_profile``."""
    inv = book.invoices.copy()
    defaults = {"upfront_amount": 0.0, "upfront_date": pd.NaT, "discount_rate": 0.0, "discount_day": np.nan,
                "calendar": 0, "is_future": False, "min_day": int(book.grid[0])}
    for col, val in defaults.items():
        if col not in inv.columns:
            inv[col] = val
    inv["upfront_date"] = inv["upfront_date"].astype("datetime64[ns]")
    inv["upfront_amount"] = inv["upfront_amount"].fillna(0.0).astype(float)
    inv["discount_rate"] = inv["discount_rate"].fillna(0.0).astype(float)
    inv["discount_day"] = inv["discount_day"].astype(float)
    if "base_profile" not in inv.columns:  # the fitted profile, kept so model.profiles lookups survive remapping
        inv["base_profile"] = inv["profile"].astype(np.int64)
    return inv


def _remap(book: Any, inv: pd.DataFrame, sel: np.ndarray, keys: np.ndarray, transform) -> Any:
    """Give the invoices at positions ``sel`` new pmf rows ``transform(rows, keys_u)`` per unique (profile, keys).

    ``keys`` is an int array (len(sel), k) of per-invoice lever days. New rows equal to an existing row reuse it.
    """
    if len(sel) == 0:
        return _with(book, invoices=inv)
    combo = np.column_stack([inv["profile"].to_numpy(np.int64)[sel], keys.reshape(len(sel), -1)])
    uniq, inverse = np.unique(combo, axis=0, return_inverse=True)
    new_rows = transform(book.pmfs[uniq[:, 0]], uniq[:, 1:])
    rows_u, inv_u = np.unique(new_rows, axis=0, return_inverse=True)
    existing = {r.tobytes(): i for i, r in enumerate(book.pmfs)}
    n_old = book.pmfs.shape[0]
    index, extra = np.empty(len(rows_u), dtype=np.int64), []
    for j, r in enumerate(rows_u):  # one pass per distinct new law, never per invoice
        hit = existing.get(r.tobytes())
        if hit is None:
            hit = n_old + len(extra)
            extra.append(r)
        index[j] = hit
    pmfs = np.vstack([book.pmfs, *extra]) if extra else book.pmfs
    profile = inv["profile"].to_numpy(np.int64).copy()
    profile[sel] = index[inv_u.ravel()][inverse.ravel()]
    inv["profile"] = profile
    return _with(book, pmfs=pmfs, invoices=inv)


def _min_day(inv: pd.DataFrame) -> np.ndarray:
    """Earliest possible pay day relative to due: ``min_day``, raised to the issue date (as the engine does)."""
    md = np.asarray(inv["min_day"], dtype=np.int64)
    if "issue_date" not in inv.columns:
        return md
    issued = (inv["issue_date"].astype("datetime64[ns]") - inv["due_date"].astype("datetime64[ns]")).dt.days
    return np.maximum(md, issued.fillna(np.iinfo(np.int64).min // 2).to_numpy(dtype=np.int64))


def _start_day(book: Any, inv: pd.DataFrame, sel: np.ndarray) -> np.ndarray:
    """Per selected invoice, the first day a lever may touch: max(min_day, first day its law has mass).

    Mass before ``min_day`` is what "not paid yet" rules out; leaving it alone keeps every invoice's conditional
    never-paid share. Invoices whose law starts after ``min_day`` share one key, so rows stay few.
    """
    nz = book.pmfs > 0
    first = np.where(nz.any(axis=1), book.grid[np.argmax(nz, axis=1)], book.grid[-1])
    return np.maximum(_min_day(inv)[sel], first[inv["profile"].to_numpy(np.int64)[sel]])


def conditional_laws(book: Any, sel: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each invoice's law of the pay day given not paid before ``min_day``: (rows over the grid, inverse index).

    r_g = p_g 1[g >= m] / (1 - F(m - 1)), m = ``min_day`` raised to the issue date (the engine's rule); rows are
    computed per unique (profile, m) and ``rows[inverse]`` gives the invoices' laws. Row sums are P(paid at all | not paid yet) <= 1.
    """
    inv = book.invoices
    sel = np.arange(len(inv)) if sel is None else sel
    combo = np.column_stack([inv["profile"].to_numpy(np.int64)[sel], _min_day(inv)[sel]])
    uniq, inverse = np.unique(combo, axis=0, return_inverse=True)
    rows = book.pmfs[uniq[:, 0]]
    keep = book.grid[None, :] >= uniq[:, 1:2]
    before = (rows * ~keep).sum(axis=1, keepdims=True)
    cond = np.where(keep, rows, 0.0) / np.maximum(1.0 - before, 1e-12)
    return cond, inverse.ravel()


def _expected_pay_day(book: Any, sel: np.ndarray | None = None) -> np.ndarray:
    """Per invoice (of ``sel``), the expected pay day relative to due given eventual payment (0 if never paid)."""
    laws, inverse = conditional_laws(book, sel)
    mass = laws.sum(axis=1)
    return np.divide(laws @ book.grid.astype(float), mass, out=np.zeros(len(mass)), where=mass > 0)[inverse]


def _p_unpaid_morning(book: Any, sel: np.ndarray) -> np.ndarray:
    """Per invoice of ``sel`` (rows) and grid day d (columns): P(still unpaid on the morning of day d)
    = 1 - P(paid before d), on the law given ``min_day``."""
    laws, inverse = conditional_laws(book, sel)
    before = np.concatenate([np.zeros((laws.shape[0], 1)), np.cumsum(laws, axis=1)[:, :-1]], axis=1)[inverse]
    return 1.0 - before


def _p_paid_by(book: Any, sel: np.ndarray, day_idx: np.ndarray) -> np.ndarray:
    """Per invoice of ``sel``, P(paid by grid position ``day_idx``), on the law given ``min_day``."""
    laws, inverse = conditional_laws(book, sel)
    return np.cumsum(laws, axis=1)[inverse][np.arange(len(sel)), day_idx]


def _select(inv: pd.DataFrame, segments: Segments, customers: Segments) -> np.ndarray:
    mask = np.ones(len(inv), dtype=bool)
    if segments is not None:
        mask &= inv["segment"].isin(segments).to_numpy()
    if customers is not None:
        mask &= inv["customer_id"].astype(str).isin([str(c) for c in customers]).to_numpy()
    return mask


def _profile_flag(inv: pd.DataFrame, model: Any, column: str, value: Any) -> np.ndarray:
    """Per invoice, whether its fitted profile has ``column == value`` (``inv[column]`` wins when present)."""
    if column in inv.columns:
        return (inv[column] == value).fillna(False).to_numpy(dtype=bool)
    profiles = getattr(model, "profiles", None)
    if profiles is None or column not in profiles.columns:
        return np.zeros(len(inv), dtype=bool)
    flags = (profiles[column] == value).fillna(False).to_numpy(dtype=bool)
    base = inv["base_profile"].to_numpy(np.int64)
    ok = (base >= 0) & (base < len(flags))
    return np.where(ok, flags[np.clip(base, 0, len(flags) - 1)], False)


def _cost_frame(lever: str, months: np.ndarray, item: str, amounts: np.ndarray, in_sim: bool = False
                ) -> pd.DataFrame:
    df = pd.DataFrame({"month": months, "amount": amounts})
    df = df.groupby("month", as_index=False)["amount"].sum()
    df.insert(0, "lever", lever)
    df.insert(2, "item", item)
    df["in_simulation"] = in_sim
    return df[df["amount"] != 0].reset_index(drop=True)


COST_COLUMNS = ["lever", "month", "item", "amount", "in_simulation"]


def empty_costs() -> pd.DataFrame:
    """A costs table with no row (columns COST_COLUMNS), for levers that cost nothing."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in
                         zip(COST_COLUMNS, ["str", "str", "str", "float64", "bool"], strict=True)})


def _customer_actions(lever: str, customers: Any, amounts: Any, action: str, *,
                      tie_break: bool = True) -> pd.DataFrame:
    """One action row per customer: ``lever, customer_id, invoice_id`` (""), ``amount`` (summed), ``action``, largest
    amount first (``tie_break``: equal amounts by customer_id; else a plain sort on the amount)."""
    df = pd.DataFrame({"customer_id": customers, "amount": amounts})
    df = df.groupby("customer_id", as_index=False)["amount"].sum()
    df["action"] = action
    df.insert(0, "lever", lever)
    df.insert(2, "invoice_id", "")
    if tie_break:
        df = df.sort_values(["amount", "customer_id"], ascending=[False, True])
    else:
        df = df.sort_values("amount", ascending=False)
    return df.reset_index(drop=True)


# ----------------------------------------------------------------------------------------------------------------
# The lever specs
# ----------------------------------------------------------------------------------------------------------------

class LeverSpec(BaseModel):
    """Common base: frozen, unknown keys rejected with the closest valid one named."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: str
    #: A label for tables and charts; defaults to the kind.
    label: str | None = None

    risk_note: ClassVar[str] = ""

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            valid = list(cls.model_fields)
            for key in data:
                if key not in valid:
                    close = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.5)
                    hint = f"did you mean '{close[0]}'?" if close else f"valid keys: {', '.join(valid)}"
                    raise ValueError(f"unknown key '{key}' for lever '{data.get('kind', cls.__name__)}'; {hint}")
        return data

    @property
    def name(self) -> str:
        return self.label or self.kind

    @property
    def risk(self) -> Risk:
        return "low"

    def apply(self, book: Any, model: Any = None) -> Any:  # pragma: no cover - every lever overrides
        raise NotImplementedError

    def costs(self, book: Any, model: Any = None, after: Any = None) -> pd.DataFrame:
        """Expected costs by month; ``after`` = ``self.apply(book, model)`` when the caller already has it."""
        return empty_costs()

    def actions(self, book: Any, model: Any = None) -> pd.DataFrame:
        return pd.DataFrame(columns=["lever", "customer_id", "invoice_id", "amount", "action"])

    def is_financing(self) -> bool:
        return False

    def changes_nothing(self) -> bool:
        """True when the lever is current practice itself (a dunning plan equal to the current one)."""
        return False


class EarlyPaymentDiscount(LeverSpec):
    """Early-payment discount (*escompte pour paiement anticipé*): ``rate`` off if paid within ``deadline_days``.

    Offered on invoices whose deadline (issue + D days) is still ahead. Take-up, per invoice from its own
    counterfactual law T (days relative to due): invoices that would be paid by the deadline anyway take it
    (pure cost, *deadweight*); of those paying between the deadline and the due date a share ``take_up_on_time``
    x s moves to the deadline, of those paying late ``take_up_late`` x s, where s = min(1, annualised rate /
    37.2 %) scales take-up by how attractive the rate is against 2/10 net 30, for which the figures are quoted
    (about 3 in 10 pay on receipt regardless, 3 in 10 are chronic slow payers: BlueTarp [W]; discounts go to
    riskier buyers: Klapper, Laeven & Rajan, RFS 2012). The engine books ``rate x amount`` as a cost on every
    path where the invoice is paid by the deadline (``discount_rate``/``discount_day``; it tests the drawn day,
    before payment-day snapping: a payment made by the deadline earns it).

    >>> EarlyPaymentDiscount(rate=0.02, deadline_days=10).annualised_rate(30)   # doctest: +ELLIPSIS
    0.372...
    """

    kind: Literal["early_payment_discount"] = "early_payment_discount"
    rate: float = Field(0.02, gt=0, lt=0.2)
    deadline_days: int = Field(10, ge=0, le=120)
    segments: Segments = None
    customers: Segments = None
    take_up_on_time: Probability = 0.3
    take_up_late: Probability = 0.1

    risk_note: ClassVar[str] = ("none for the relationship; customers may keep deducting the discount after the "
                                "deadline (unearned discounts) — enforce it")

    @property
    def risk(self) -> Risk:
        return "none"

    def annualised_rate(self, net_days: float) -> float:
        return annualised_discount_rate(self.rate, self.deadline_days, net_days)

    def _plan(self, book: Any) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
        inv = _ensure_columns(book)
        issue = inv["issue_date"].astype("datetime64[ns]")
        deadline_rel = _rel_to_due(book, issue + pd.Timedelta(days=self.deadline_days))
        dl_abs = _day_index(book, inv["due_date"]) + deadline_rel       # day 0 = as_of + 1
        grid = book.grid
        ok = (_select(inv, self.segments, self.customers) & (dl_abs >= 0)
              & (deadline_rel >= _min_day(inv)) & (deadline_rel >= grid[0])
              & (deadline_rel <= grid[-1]) & (inv["discount_rate"].to_numpy() == 0) & (inv["amount"].to_numpy() > 0))
        # take-up scales with the annual rate the offer is worth at the invoice's own terms N (37.2 % = 1)
        span = (inv["due_date"].astype("datetime64[ns]") - issue).dt.days.to_numpy(dtype=float) - self.deadline_days
        with np.errstate(divide="ignore"):
            annual = np.where(span > 0, self.rate / (1 - self.rate) * 365.0 / span, np.inf)
        scale = np.minimum(1.0, annual / annualised_discount_rate(*REFERENCE_DISCOUNT))
        return inv, np.flatnonzero(ok), deadline_rel, scale

    def apply(self, book: Any, model: Any = None) -> Any:
        """Taken invoices move to the deadline and carry the discount for the engine to book."""
        return self._apply_plan(book, self._plan(book))

    def _apply_plan(self, book: Any, planned: tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]) -> Any:
        """``apply`` given ``self._plan(book)``; the new book's invoice table is the plan's (written into)."""
        inv, sel, deadline_rel, scale = planned
        if len(sel) == 0:
            return _with(book, invoices=inv)
        inv.loc[inv.index[sel], "discount_rate"] = self.rate
        inv.loc[inv.index[sel], "discount_day"] = deadline_rel[sel].astype(float)
        g0, due_pos = int(book.grid[0]), -int(book.grid[0])
        scale_key = np.round(scale[sel] * 1e6).astype(np.int64)
        keys = np.column_stack([deadline_rel[sel] - g0, scale_key])

        def transform(rows: np.ndarray, k: np.ndarray) -> np.ndarray:
            to, s = k[:, 0], k[:, 1] / 1e6
            out = pull_forward(rows, to, to, np.full(len(to), due_pos), self.take_up_on_time * s)
            return pull_forward(out, to, np.maximum(to, due_pos), np.full(len(to), rows.shape[1] - 1),
                                self.take_up_late * s)

        return _remap(book, inv, sel, keys, transform)

    def costs(self, book: Any, model: Any = None, after: Any = None) -> pd.DataFrame:
        """Expected discounts by month of the deadline (booked per path by the engine: ``in_simulation``)."""
        planned = self._plan(book)
        after = self._apply_plan(book, planned) if after is None else after
        inv = after.invoices
        sel = np.flatnonzero(inv["discount_rate"].to_numpy() > 0)
        sel = sel[np.isin(sel, planned[1])]
        if len(sel) == 0:
            return empty_costs()
        day = inv["discount_day"].to_numpy()[sel].astype(np.int64) - int(book.grid[0])
        p_taken = _p_paid_by(after, sel, day)
        amount = inv["amount"].to_numpy()[sel] * self.rate * p_taken
        when = inv["due_date"].astype("datetime64[ns]").iloc[sel] + pd.to_timedelta(day + book.grid[0], unit="D")
        return _cost_frame(self.name, _month(when), "discounts given", amount, in_sim=True)

    def actions(self, book: Any, model: Any = None) -> pd.DataFrame:
        """Invoices to send the offer with, largest first, with the chance it is taken and the amount it costs."""
        planned = self._plan(book)
        inv, sel, deadline_rel, _ = planned
        after = self._apply_plan(book, planned)   # writes only the discount and profile columns of inv
        if len(sel) == 0:
            return super().actions(book, model)
        p = _p_paid_by(after, sel, deadline_rel[sel] - int(book.grid[0]))
        out = pd.DataFrame({
            "lever": self.name, "customer_id": inv["customer_id"].to_numpy()[sel],
            "invoice_id": inv["invoice_id"].to_numpy()[sel], "amount": inv["amount"].to_numpy()[sel],
            "action": [f"offer {self.rate:.1%} if paid by "
                       f"{(d + pd.Timedelta(days=int(r))).date()}" for d, r in
                       zip(inv["due_date"].astype("datetime64[ns]").iloc[sel], deadline_rel[sel], strict=True)],
            "p_taken": p, "expected_cost": p * self.rate * inv["amount"].to_numpy()[sel]})
        return out.sort_values(["amount", "invoice_id"], ascending=[False, True]).reset_index(drop=True)


#: Default effect of one dunning action (*relance*) by channel: hazard x (1 + effect) for ``effect_days`` days.
#: cost in euros per action; risk for the relationship. Sources: methods.md section 3.
CHANNEL_DEFAULTS: dict[str, dict[str, Any]] = {
    # SMS reminder RCT: +7-9 % on-time payment, -2 days late (Cadena & Schoar, NBER w17020); null on average in
    # Fuente et al. 2024: g = 0.3 over 7 days is an assumption anchored there. Cost: an automated message.
    "email": dict(effect=0.3, effect_days=7, cost=0.5, tone="friendly", relationship_risk="none"),
    "sms": dict(effect=0.3, effect_days=7, cost=0.5, tone="friendly", relationship_risk="none"),
    # a person calling: twice an e-mail (assumption; reminders worked when they named a person, Karlan, Morten &
    # Zinman 2015); 10 minutes at 45 EUR/h.
    "phone": dict(effect=0.6, effect_days=7, cost=7.5, tone="firm", relationship_risk="low"),
    # call to a higher-level contact / the sales rep: assumption, 20 minutes at 45 EUR/h.
    "manager_call": dict(effect=0.8, effect_days=10, cost=15.0, tone="firm", relationship_risk="medium"),
    "sales_rep": dict(effect=0.6, effect_days=10, cost=15.0, tone="friendly", relationship_risk="medium"),
    # formal notice (*mise en demeure*, registered letter): salient threat letter deters beyond a plain mailing
    # (Fellner, Sausgruber & Traxler, JEEA 2013), magnitude assumed g = 1.0 over 14 days; letter + 20 minutes.
    "formal_notice": dict(effect=1.0, effect_days=14, cost=25.0, tone="formal", relationship_risk="high"),
    # litigation (*injonction de payer*): assumption g = 1.0 over 30 days; court and lawyer fees assumed 500 EUR.
    "litigation": dict(effect=1.0, effect_days=30, cost=500.0, tone="legal", relationship_risk="high"),
}
Channel = Literal["email", "sms", "phone", "manager_call", "sales_rep", "formal_notice", "litigation"]


class DunningStep(BaseModel):
    """One step of a dunning plan (*plan de relance*): on ``day`` (relative to the due date, negative = before)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    day: int = Field(ge=-60, le=365)
    channel: Channel
    tone: Literal["friendly", "firm", "formal", "legal"] | None = None
    #: Hazard multiplier minus one for ``effect_days`` days after the step (None = the channel's default).
    effect: float | None = Field(None, ge=0, le=10)
    effect_days: int | None = Field(None, ge=1, le=120)
    #: Euros per action (staff time, letters, fees).
    cost: float | None = Field(None, ge=0)
    relationship_risk: Risk | None = None

    @model_validator(mode="after")
    def _defaults(self) -> DunningStep:
        for key, value in CHANNEL_DEFAULTS[self.channel].items():
            if getattr(self, key) is None:
                object.__setattr__(self, key, value)  # frozen: fill the channel defaults once, at validation
        return self


def _plan_arrays(steps: list[DunningStep]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.array([s.day for s in steps], dtype=float), np.array([s.effect_days for s in steps], dtype=float),
            np.array([s.effect for s in steps], dtype=float))


class DunningPlan(LeverSpec):
    """A dunning plan (*plan de relance*): graduated steps, each a hazard multiplier for some days after it.

    The baseline book was fitted on history under the company's current plan, so a proposed plan acts through the
    **ratio** of multipliers, h' = h x M_plan(g) / M_current(g), with M(g) = prod_s (1 + effect_s) over the steps
    whose window [day_s, day_s + effect_days_s) covers day g: the current plan is not counted twice, and a plan
    equal to the current one changes nothing. ``current`` is set by :mod:`cashsim.compare` from the baseline
    scenario (``relative_to``). A reminder before the due date surfaces disputes early: on invoices not yet at
    that reminder and not already in dispute, the share ``dispute_share_of_late`` of the late mass (days > 0) —
    the payments a dispute held up — moves earlier by the days between the current plan's first pre-due reminder
    (or the due date) and this plan's, never before the reminder: the dispute is raised, and so resolved, that
    much sooner. Disputes already open are left alone. Steps already past for an overdue invoice are not
    replayed. Effects default by channel (``CHANNEL_DEFAULTS``); estimate your own with
    :func:`estimate_dunning_effects` where the ledger has a dunning log.
    """

    kind: Literal["dunning_plan"] = "dunning_plan"
    steps: list[DunningStep] = Field(default_factory=list)
    segments: Segments = None
    #: The current plan this one replaces (set from the baseline scenario; empty = no dunning today).
    current: list[DunningStep] | None = None
    #: Share of late payment that is due to a dispute raised late (assumption; from a ledger:
    #: :func:`dispute_share_of_late`).
    dispute_share_of_late: Probability = 0.25

    @property
    def risk(self) -> Risk:
        levels = [RISK_LEVELS.index(s.relationship_risk) for s in self.steps] or [0]
        return RISK_LEVELS[max(levels)]

    @property
    def risk_note(self) -> str:  # type: ignore[override]
        firm = [s.channel for s in self.steps if s.relationship_risk in ("medium", "high")]
        return ("firm steps (" + ", ".join(firm) + ") strain the relationship of good customers") if firm else \
            "reminders only: little relationship risk"

    def relative_to(self, current: DunningPlan | list[DunningStep] | None) -> DunningPlan:
        steps = current.steps if isinstance(current, DunningPlan) else (current or [])
        return self.model_copy(update={"current": list(steps)})

    def _first_pre_due(self, steps: list[DunningStep]) -> int:
        pre = [s.day for s in steps if s.day < 0]
        return min(pre) if pre else 0

    def changes_nothing(self) -> bool:
        return self.steps == (self.current or [])

    def apply(self, book: Any, model: Any = None) -> Any:
        inv = _ensure_columns(book)
        current = self.current or []
        if self.changes_nothing():
            return _with(book, invoices=inv)
        sel = np.flatnonzero(_select(inv, self.segments, None) & (inv["amount"].to_numpy() > 0))
        grid = book.grid
        ratio = (window_multiplier(grid, *(a[None, :] for a in _plan_arrays(self.steps)))
                 / window_multiplier(grid, *(a[None, :] for a in _plan_arrays(current))))[0]
        lead = self._first_pre_due(current) - self._first_pre_due(self.steps)
        known = _profile_flag(inv, model, "disputed", True)
        min_day = _min_day(inv)
        reminder = self._first_pre_due(self.steps)
        surfaced = ~known[sel] & (min_day[sel] <= reminder) & (lead > 0) & (self.dispute_share_of_late > 0)
        acting = np.flatnonzero(ratio != 1.0)
        lo, hi = (int(grid[acting[0]]), int(grid[acting[-1]]) + 1) if len(acting) else (0, 0)
        start = np.clip(_start_day(book, inv, sel), lo, hi)   # the plan acts only from the invoice's start day
        keys = np.column_stack([surfaced.astype(np.int64), np.maximum(min_day[sel], reminder) - grid[0], start])
        keys[~surfaced, 1] = 0
        late = grid > 0
        phi = self.dispute_share_of_late

        def transform(rows: np.ndarray, k: np.ndarray) -> np.ndarray:
            out = scale_hazard(rows, np.where(grid[None, :] >= k[:, 2:3], ratio[None, :], 1.0))
            moved = k[:, 0] == 1
            if moved.any():
                part = out[moved] * late * phi
                out[moved] += shift_days(part, np.full(moved.sum(), -lead), floor_idx=k[moved, 1]) - part
            return out

        return _remap(book, inv, sel, keys, transform)

    def _step_costs(self, book: Any, steps: list[DunningStep]) -> tuple[np.ndarray, np.ndarray]:
        inv = book.invoices
        sel = np.flatnonzero(_select(inv, self.segments, None) & (inv["amount"].to_numpy() > 0))
        if not steps or len(sel) == 0:
            return np.array([]), np.array([])
        unpaid = _p_unpaid_morning(book, sel)
        min_day = _min_day(inv)[sel]
        due = inv["due_date"].astype("datetime64[ns]").to_numpy()[sel]
        as_of = np.datetime64(pd.Timestamp(book.as_of).normalize(), "ns")
        months, amounts = [], []
        for s in steps:  # loop over a plan's few steps, vectorised over invoices
            idx = int(np.clip(s.day - book.grid[0], 0, len(book.grid) - 1))
            when = due + np.timedelta64(s.day, "D")
            live = (s.day >= min_day) & (when > as_of)
            months.append(_month(when[live]))
            amounts.append(s.cost * unpaid[live, idx])
        return np.concatenate(months), np.concatenate(amounts)

    def costs(self, book: Any, model: Any = None, after: Any = None) -> pd.DataFrame:
        """Expected cost of the plan's actions minus the current plan's, each on its own law (by month)."""
        if self.changes_nothing():
            return empty_costs()
        m1, a1 = self._step_costs(self.apply(book, model) if after is None else after, self.steps)
        m0, a0 = self._step_costs(book, self.current or [])
        return _cost_frame(self.name, np.concatenate([m1, m0]).astype(str), "dunning actions (net of current plan)",
                           np.concatenate([a1, -a0]))

    def actions(self, book: Any, model: Any = None) -> pd.DataFrame:
        rows = [{"lever": self.name, "customer_id": "all" if self.segments is None else ",".join(self.segments),
                 "invoice_id": "", "amount": np.nan,
                 "action": f"day {s.day:+d}: {s.channel} ({s.tone}), cost {s.cost:.2f} EUR"} for s in self.steps]
        return pd.DataFrame(rows, columns=["lever", "customer_id", "invoice_id", "amount", "action"])


class Deposit(LeverSpec):
    """Deposit at order (*acompte à la commande*): ``share`` of each future invoice cashed ``lead_days`` before issue.

    Only orders not yet placed on the as-of date (issue_date - lead_days after it) can be asked for one; the rest
    of the invoice keeps its law. Default 30 % (common in construction, bizyness.fr [W]; 10-30 % typical,
    fiduciaire-maenhout.be [W]). No fee; the risk is that customers refuse and buy elsewhere.
    """

    kind: Literal["deposit"] = "deposit"
    share: float = Field(0.3, gt=0, le=1)
    segments: Segments = None
    customers: Segments = None
    #: Days between the order and the invoice (assumption: one month of lead time).
    lead_days: int = Field(30, ge=0, le=365)

    risk_note: ClassVar[str] = "customers may refuse the deposit and order elsewhere (acceptance risk)"

    @property
    def risk(self) -> Risk:
        return "medium"

    def _sel(self, book: Any, inv: pd.DataFrame) -> np.ndarray:
        order = inv["issue_date"].astype("datetime64[ns]") - pd.Timedelta(days=self.lead_days)
        ok = (_select(inv, self.segments, self.customers) & inv["is_future"].to_numpy(dtype=bool)
              & (order > pd.Timestamp(book.as_of).normalize()).to_numpy() & (inv["amount"].to_numpy() > 0)
              & inv["upfront_date"].isna().to_numpy())
        return np.flatnonzero(ok)

    def apply(self, book: Any, model: Any = None) -> Any:
        inv = _ensure_columns(book)
        sel = self._sel(book, inv)
        idx = inv.index[sel]
        deposit = inv.loc[idx, "amount"] * self.share
        inv.loc[idx, "upfront_amount"] = inv.loc[idx, "upfront_amount"] + deposit
        inv.loc[idx, "amount"] = inv.loc[idx, "amount"] - deposit
        inv.loc[idx, "upfront_date"] = (inv.loc[idx, "issue_date"].astype("datetime64[ns]")
                                        - pd.Timedelta(days=self.lead_days))
        return _with(book, invoices=inv)

    def actions(self, book: Any, model: Any = None) -> pd.DataFrame:
        inv = _ensure_columns(book)
        chosen = inv.iloc[self._sel(book, inv)]
        return _customer_actions(self.name, chosen["customer_id"], chosen["amount"],
                                 f"ask a {self.share:.0%} deposit at order", tie_break=False)


def _expected_days_late(book: Any, inv: pd.DataFrame) -> pd.Series:
    """Amount-weighted expected days late per customer, from each invoice's law given eventual payment."""
    mean = _expected_pay_day(book)
    w = np.abs(inv["amount"].to_numpy(dtype=float))
    df = pd.DataFrame({"customer_id": inv["customer_id"].to_numpy(), "x": mean * w, "w": w})
    g = df.groupby("customer_id")[["x", "w"]].sum()
    return (g["x"] / g["w"].where(g["w"] > 0)).fillna(0.0)


class DirectDebit(LeverSpec):
    """SEPA B2B direct debit (*prélèvement SEPA interentreprises*): adopters are debited on the due date.

    Adopters: the customers of ``segments``/``customers``, or the ``adoption`` share of customers with the latest
    expected payments first (where it helps most). Their invoices due at least ``setup_days`` after the as-of date
    are paid on the due date with probability 1 - r; a rejected debit (r = 5 %; > 8 % gross for French debtor
    accounts in the early SEPA years, Slimpay via sepa.forumactif.org [W]) follows the invoice's own law
    5-10 days later (uniform). Invoices already paid by direct debit are left alone. Cost: a bank fee per debit and
    per rejection (assumptions, set your bank's tariff).
    """

    kind: Literal["direct_debit"] = "direct_debit"
    adoption: Probability = 0.3
    segments: Segments = None
    customers: Segments = None
    rejection_rate: float = Field(0.05, ge=0, le=0.5)
    reject_delay_days: tuple[int, int] = (5, 10)
    setup_days: int = Field(14, ge=0)
    fee_per_debit: float = Field(0.4, ge=0)
    fee_per_rejection: float = Field(15.0, ge=0)

    risk_note: ClassVar[str] = "customers must sign a B2B mandate; some refuse; a B2B debit cannot be disputed"

    def adopters(self, book: Any, inv: pd.DataFrame | None = None) -> list[str]:
        inv = _ensure_columns(book) if inv is None else inv
        if self.segments is not None or self.customers is not None:
            return sorted(inv.loc[_select(inv, self.segments, self.customers), "customer_id"].astype(str).unique())
        late = _expected_days_late(book, inv)
        ranked = late.rename("late").reset_index().sort_values(["late", "customer_id"], ascending=[False, True])
        n = int(np.floor(self.adoption * len(ranked) + 1e-9))
        return ranked["customer_id"].astype(str).head(n).tolist()

    def _sel(self, book: Any, inv: pd.DataFrame, model: Any) -> np.ndarray:
        start = pd.Timestamp(book.as_of).normalize() + pd.Timedelta(days=self.setup_days)
        ok = (inv["customer_id"].astype(str).isin(self.adopters(book, inv)).to_numpy()
              & (inv["due_date"].astype("datetime64[ns]") > start).to_numpy() & (inv["amount"].to_numpy() > 0)
              & ~_profile_flag(inv, model, "payment_method", "direct_debit"))
        return np.flatnonzero(ok)

    def apply(self, book: Any, model: Any = None) -> Any:
        inv = _ensure_columns(book)
        sel = self._sel(book, inv, model)
        lo, hi = self.reject_delay_days
        delays = np.arange(lo, hi + 1)
        due_pos, r = -int(book.grid[0]), self.rejection_rate

        def transform(rows: np.ndarray, k: np.ndarray) -> np.ndarray:
            ahead = book.grid[None, :] >= k[:, :1]          # mass before the start day stays where it is
            later = rows * ahead
            rejected = np.mean([shift_days(later, np.full(len(rows), d)) for d in delays], axis=0)
            out = rows * ~ahead + r * rejected
            out[:, due_pos] += (1 - r) * later.sum(axis=1)
            return out

        start = np.minimum(_start_day(book, inv, sel), 0)
        return _remap(book, inv, sel, start[:, None], transform)

    def costs(self, book: Any, model: Any = None, after: Any = None) -> pd.DataFrame:
        inv = _ensure_columns(book)
        sel = self._sel(book, inv, model)
        each = np.full(len(sel), self.fee_per_debit + self.rejection_rate * self.fee_per_rejection)
        return _cost_frame(self.name, _month(inv["due_date"].iloc[sel]), "direct-debit bank fees", each)

    def actions(self, book: Any, model: Any = None) -> pd.DataFrame:
        inv = _ensure_columns(book)
        chosen = inv.iloc[self._sel(book, inv, model)]
        return _customer_actions(self.name, chosen["customer_id"], chosen["amount"],
                                 "ask for a SEPA B2B direct-debit mandate")


class PromiseCalls(LeverSpec):
    """Promise-to-pay calls (*relance téléphonique avec promesse*) on the largest overdue accounts first.

    The ``n_calls`` customers with the most overdue money are called; a share ``promise_rate`` promise to pay
    ``promise_days`` after the as-of date and keep it with the customer's keep rate (``model.promise_keep``, learned
    from the promise log; else ``keep_rate``). A kept promise moves the invoice's payment to the promised date
    unless it would have paid earlier anyway. Cost: ``call_minutes`` at ``hourly_cost`` per call. Promise and keep
    rates are assumptions until the ledger has a promise log.
    """

    kind: Literal["promise_calls"] = "promise_calls"
    n_calls: int = Field(20, ge=0)
    promise_rate: Probability = 0.5
    keep_rate: Probability = 0.6
    promise_days: int = Field(7, ge=1, le=60)
    call_minutes: float = Field(15.0, ge=0)
    hourly_cost: float = Field(45.0, ge=0)
    segments: Segments = None

    risk_note: ClassVar[str] = "low: a courteous call; repeated calls on a good customer annoy"

    def call_list(self, book: Any, inv: pd.DataFrame | None = None) -> pd.DataFrame:
        """Customers ranked by overdue amount (largest first): customer_id, overdue_amount, n_invoices, rank."""
        inv = _ensure_columns(book) if inv is None else inv
        overdue = ((inv["due_date"].astype("datetime64[ns]") <= pd.Timestamp(book.as_of).normalize()).to_numpy()
                   & ~inv["is_future"].to_numpy(dtype=bool) & (inv["amount"].to_numpy() > 0)
                   & _select(inv, self.segments, None))
        df = (inv[overdue].groupby("customer_id", as_index=False)
              .agg(overdue_amount=("amount", "sum"), n_invoices=("amount", "size"))
              .sort_values(["overdue_amount", "customer_id"], ascending=[False, True]).head(self.n_calls))
        df["rank"] = np.arange(1, len(df) + 1)
        return df.reset_index(drop=True)

    def _keep(self, inv: pd.DataFrame, model: Any) -> np.ndarray:
        keep = getattr(model, "promise_keep", None)
        if keep is None or len(keep) == 0:
            return np.full(len(inv), self.keep_rate)
        # a customer without promise history: the book's rate ("__book__") unless keep_rate was set explicitly
        fallback = self.keep_rate if "keep_rate" in self.model_fields_set else float(keep.get("__book__",
                                                                                              self.keep_rate))
        return inv["customer_id"].map(keep).fillna(fallback).to_numpy(dtype=float)

    def apply(self, book: Any, model: Any = None) -> Any:
        inv = _ensure_columns(book)
        called = self.call_list(book, inv)["customer_id"]
        overdue = (inv["due_date"].astype("datetime64[ns]") <= pd.Timestamp(book.as_of).normalize()).to_numpy()
        sel = np.flatnonzero(inv["customer_id"].isin(called).to_numpy() & overdue
                             & ~inv["is_future"].to_numpy(dtype=bool) & (inv["amount"].to_numpy() > 0))
        promised = _rel_to_due(book, pd.Series(pd.Timestamp(book.as_of).normalize()
                                               + pd.Timedelta(days=self.promise_days), index=inv.index))
        promised = np.clip(np.maximum(promised, _min_day(inv)), book.grid[0], book.grid[-1])
        p_keep = np.round(self.promise_rate * self._keep(inv, model) * 1e6).astype(np.int64)
        keys = np.column_stack([promised[sel] - book.grid[0], p_keep[sel]])

        def transform(rows: np.ndarray, k: np.ndarray) -> np.ndarray:
            to = k[:, 0]
            return pull_forward(rows, to, to, np.full(len(to), rows.shape[1] - 1), k[:, 1] / 1e6)

        return _remap(book, inv, sel, keys, transform)

    def costs(self, book: Any, model: Any = None, after: Any = None) -> pd.DataFrame:
        n = len(self.call_list(book))
        month = _month(pd.DatetimeIndex([pd.Timestamp(book.as_of).normalize() + pd.Timedelta(days=1)]))
        return _cost_frame(self.name, month, "calling time",
                           np.array([n * self.call_minutes / 60.0 * self.hourly_cost]))

    def actions(self, book: Any, model: Any = None) -> pd.DataFrame:
        df = self.call_list(book)
        return pd.DataFrame({"lever": self.name, "customer_id": df["customer_id"], "invoice_id": "",
                             "amount": df["overdue_amount"],
                             "action": [f"call #{r}: ask for a payment date within {self.promise_days} days"
                                        for r in df["rank"]]})


class CutOffThreat(LeverSpec):
    """Threat of service cut-off or litigation (*mise en demeure avant suspension*) beyond ``overdue_days`` late.

    Each invoice still unpaid when it reaches ``overdue_days`` + 1 days late (or today, if it is already past
    that) gets hazard x (1 + effect) for ``effect_days`` days (g = 1.0 over 14 days: a salient threat letter
    deters beyond a plain mailing, Fellner, Sausgruber & Traxler, JEEA 2013 — magnitude assumed). Cost: the
    legal cost of each notice, plus the margin lost when a threatened customer leaves: churn probability x
    P(customer threatened) x gross margin x its sales over ``lost_sales_months`` (monthly sales from the book's
    future invoices), provisioned in the first forecast month.
    """

    kind: Literal["cutoff_threat"] = "cutoff_threat"
    overdue_days: int = Field(60, ge=0, le=300)
    effect: float = Field(1.0, ge=0, le=10)
    effect_days: int = Field(14, ge=1, le=90)
    legal_cost: float = Field(150.0, ge=0)
    churn_probability: Probability = 0.05
    gross_margin: Probability = 0.2
    lost_sales_months: int = Field(12, ge=0, le=60)
    segments: Segments = None

    risk_note: ClassVar[str] = "high: a threatened customer may leave (churn probability x its future margin)"

    @property
    def risk(self) -> Risk:
        return "high"

    def _starts(self, book: Any, inv: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        sel = np.flatnonzero(_select(inv, self.segments, None) & (inv["amount"].to_numpy() > 0))
        start = np.maximum(self.overdue_days + 1, _min_day(inv)[sel])
        keep = start <= book.grid[-1]
        return sel[keep], start[keep]

    def apply(self, book: Any, model: Any = None) -> Any:
        inv = _ensure_columns(book)
        sel, start = self._starts(book, inv)
        grid = book.grid

        def transform(rows: np.ndarray, k: np.ndarray) -> np.ndarray:
            m = window_multiplier(grid, k[:, :1].astype(float), np.full((len(k), 1), float(self.effect_days)),
                                  np.full((len(k), 1), self.effect))
            return scale_hazard(rows, m)

        return _remap(book, inv, sel, start[:, None], transform)

    def _p_threat(self, book: Any, inv: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        sel, start = self._starts(book, inv)
        if len(sel) == 0:
            return sel, start, np.array([])
        return sel, start, _p_unpaid_morning(book, sel)[np.arange(len(sel)), start - book.grid[0]]

    def costs(self, book: Any, model: Any = None, after: Any = None) -> pd.DataFrame:
        inv = _ensure_columns(book)
        sel, start, p = self._p_threat(book, inv)
        if len(sel) == 0:
            return empty_costs()
        when = inv["due_date"].astype("datetime64[ns]").iloc[sel] + pd.to_timedelta(start, unit="D")
        legal = _cost_frame(self.name, _month(when), "legal notices", self.legal_cost * p)
        # P(customer threatened) = 1 - prod over its invoices of (1 - p)
        cust = pd.DataFrame({"customer_id": inv["customer_id"].to_numpy()[sel],
                             "log_no": np.log1p(-np.minimum(p, 1 - 1e-12))})
        p_cust = 1.0 - np.exp(cust.groupby("customer_id")["log_no"].sum())
        fut = inv[inv["is_future"].to_numpy(dtype=bool)]
        if len(fut):
            span = max(1.0, (fut["issue_date"].max() - fut["issue_date"].min()).days / 30.4375)
            monthly = fut.groupby("customer_id")["amount"].sum() / span
        else:
            monthly = pd.Series(dtype=float)
        lost = (p_cust * monthly.reindex(p_cust.index).fillna(0.0)).sum() * self.churn_probability * \
            self.gross_margin * self.lost_sales_months
        first = _month(pd.DatetimeIndex([pd.Timestamp(book.as_of).normalize() + pd.Timedelta(days=1)]))
        churn = _cost_frame(self.name, first, "expected lost margin (churn)", np.array([lost]))
        return pd.concat([legal, churn], ignore_index=True)

    def actions(self, book: Any, model: Any = None) -> pd.DataFrame:
        inv = _ensure_columns(book)
        sel, _, p = self._p_threat(book, inv)
        return _customer_actions(self.name, inv["customer_id"].to_numpy()[sel], inv["amount"].to_numpy()[sel] * p,
                                 f"formal notice / suspension threat beyond {self.overdue_days} days overdue")


#: Per-method defaults. Factoring (*affacturage*): advance 90 %, service fee 0.8 % of TTC, EURIBOR 3M + 1.5 %
#: (France: fee 0.10-1.30 %, cmc-courtage.com; margin +0.15-2 %, affacturage.pagesjaunes.fr). Dailly assignment
#: (*cession Dailly*) and bill discounting (*escompte*): assumptions priced like a short-term credit line.
FINANCING_DEFAULTS: dict[str, dict[str, float]] = {
    "factoring": dict(advance_rate=0.90, service_fee=0.008, margin=0.015, fee_per_invoice=0.0, min_days=0),
    "dailly": dict(advance_rate=0.80, service_fee=0.0, margin=0.015, fee_per_invoice=10.0, min_days=0),
    "discounting": dict(advance_rate=1.0, service_fee=0.0, margin=0.015, fee_per_invoice=5.0, min_days=10),
}


class Financing(LeverSpec):
    """Financing the receivables: factoring (*affacturage*), Dailly assignment (*cession Dailly*), bill discounting.

    A ``share`` of each eligible invoice (not yet due; future invoices from their issue date when
    ``include_future``) is financed: the advance ``a x financed`` is cash on as_of + 1 (or at issue), the fees
    ``service_fee x financed + fee_per_invoice + (reference_rate + margin) x advance x days / 360`` are deducted
    from the reserve, which comes back when the customer pays — **no change in customer behaviour**. Days run from
    funding to the expected payment day (factoring, Dailly: the factor regularises later) or to the due date with
    at least ``min_days`` (discounting). A ``minimum_fee`` over the horizon tops up total fees pro rata. An invoice
    whose fees would exceed its advance is not financed.
    Invoices carrying an early-payment discount are left out (a factor does not fund discounted invoices). With a
    deposit on the same invoice the advance is merged into the later of the two dates (conservative).
    Report it apart from DSO: French practice keeps assigned receivables in the DSO numerator.

    >>> Financing(method="factoring").advance_rate
    0.9
    """

    kind: Literal["financing"] = "financing"
    method: Literal["factoring", "dailly", "discounting"] = "factoring"
    share: float = Field(1.0, gt=0, le=1)
    segments: Segments = None
    customers: Segments = None
    advance_rate: float | None = Field(None, gt=0, le=1)
    service_fee: float | None = Field(None, ge=0, le=0.1)
    #: 3-month EURIBOR (assumption ~2.0 % in late 2025: set the rate of the day).
    reference_rate: float = Field(0.02, ge=-0.01, le=0.2)
    margin: float | None = Field(None, ge=0, le=0.2)
    fee_per_invoice: float | None = Field(None, ge=0)
    min_days: int | None = Field(None, ge=0)
    minimum_fee: float = Field(0.0, ge=0)
    include_future: bool = True

    risk_note: ClassVar[str] = ("none in behaviour; customers see the factor's name (notified factoring); with "
                                "recourse, an unpaid invoice's advance is paid back")

    @property
    def risk(self) -> Risk:
        return "none"

    @model_validator(mode="after")
    def _method_defaults(self) -> Financing:
        for key, value in FINANCING_DEFAULTS[self.method].items():
            if getattr(self, key) is None:
                object.__setattr__(self, key, value)
        return self

    def is_financing(self) -> bool:
        return True

    def terms(self, book: Any) -> pd.DataFrame:
        """Per financed invoice: position, funding date, financed, advance, fees (service, per invoice, interest)."""
        inv = _ensure_columns(book)
        as_of = pd.Timestamp(book.as_of).normalize()
        due = inv["due_date"].astype("datetime64[ns]")
        future = inv["is_future"].to_numpy(dtype=bool)
        ok = (_select(inv, self.segments, self.customers) & (due > as_of).to_numpy() & (inv["amount"] > 0).to_numpy()
              & (inv["discount_rate"].to_numpy() == 0) & (self.include_future | ~future))
        sel = np.flatnonzero(ok)
        tomorrow = as_of + pd.Timedelta(days=1)
        issued = inv["issue_date"].astype("datetime64[ns]").clip(lower=tomorrow)
        fund = issued.where(pd.Series(future, index=inv.index), tomorrow).iloc[sel]
        fund_rel = (fund - due.iloc[sel]).dt.days.to_numpy()
        if self.method == "discounting":
            pay_rel = np.zeros(len(sel))
            days = np.maximum(-fund_rel, self.min_days).astype(float)
        else:
            pay_rel = _expected_pay_day(book, sel)
            days = np.maximum(pay_rel - fund_rel, self.min_days)
        financed = inv["amount"].to_numpy(dtype=float)[sel] * self.share
        advance = financed * self.advance_rate
        service = financed * self.service_fee
        interest = advance * (self.reference_rate + self.margin) * days / 360.0
        fees = service + self.fee_per_invoice + interest
        worth = fees < advance            # an invoice whose fees would eat the advance is not financed
        sel, fund, financed, advance, days, fees = (x[worth] for x in (sel, fund, financed, advance, days, fees))
        top_up = max(0.0, self.minimum_fee - fees.sum())
        if top_up > 0 and financed.sum() > 0:
            fees = np.minimum(fees + top_up * financed / financed.sum(), financed)  # never more than financed
        return pd.DataFrame({"pos": sel, "customer_id": inv["customer_id"].to_numpy()[sel],
                             "invoice_id": inv["invoice_id"].to_numpy()[sel], "funding_date": fund.to_numpy(),
                             "financed": financed, "advance": advance, "days": days, "fees": fees})

    def apply(self, book: Any, model: Any = None) -> Any:
        inv = _ensure_columns(book)
        t = self.terms(book)
        if t.empty:
            return _with(book, invoices=inv)
        idx = inv.index[t["pos"].to_numpy()]
        # fees come out of the reserve; beyond it, out of the advance (cash now = advance - excess)
        reserve = t["financed"].to_numpy() - t["advance"].to_numpy()
        from_advance = np.maximum(0.0, t["fees"].to_numpy() - reserve)
        cash_now = t["advance"].to_numpy() - from_advance
        # later cash = unfinanced part + reserve net of fees = amount - cash now - fees
        inv.loc[idx, "amount"] = inv.loc[idx, "amount"].to_numpy() - cash_now - t["fees"].to_numpy()
        prior = inv.loc[idx, "upfront_date"]
        inv.loc[idx, "upfront_amount"] = inv.loc[idx, "upfront_amount"].to_numpy() + cash_now
        inv.loc[idx, "upfront_date"] = np.where(prior.isna(), t["funding_date"].to_numpy(),
                                                np.maximum(prior.to_numpy(), t["funding_date"].to_numpy()))
        inv["upfront_date"] = inv["upfront_date"].astype("datetime64[ns]")
        return _with(book, invoices=inv)

    def costs(self, book: Any, model: Any = None, after: Any = None) -> pd.DataFrame:
        t = self.terms(book)
        return _cost_frame(self.name, _month(t["funding_date"]), f"{self.method} fees and interest",
                           t["fees"].to_numpy())

    def actions(self, book: Any, model: Any = None) -> pd.DataFrame:
        t = self.terms(book)
        return _customer_actions(self.name, t["customer_id"], t["financed"],
                                 f"assign to {self.method} ({self.advance_rate:.0%} advance)")


#: A lever in a params file: a mapping with a ``kind`` key (discriminated union).
Lever = Annotated[Union[EarlyPaymentDiscount, DunningPlan, Deposit, DirectDebit, PromiseCalls,  # noqa: UP007
                        CutOffThreat, Financing], Field(discriminator="kind")]


def apply_levers(book: Any, levers: list[LeverSpec], model: Any = None) -> tuple[Any, pd.DataFrame]:
    """Apply levers in order; returns the new book and every lever's expected costs (each on its input book)."""
    new_book, costs, _ = apply_levers_traced(book, levers, model)
    return new_book, costs


def apply_levers_traced(book: Any, levers: list[LeverSpec], model: Any = None
                        ) -> tuple[Any, pd.DataFrame, list[Any]]:
    """:func:`apply_levers`, also returning the book each lever was applied to (``inputs[i]`` for ``levers[i]``).

    Each lever is applied once; its costs are computed on its input book given that result."""
    frames, inputs = [empty_costs()], []
    for lever in levers:
        inputs.append(book)
        after = lever.apply(book, model)
        frames.append(lever.costs(book, model, after=after))
        book = after
    return book, pd.concat(frames, ignore_index=True), inputs


def face_value(book: Any) -> np.ndarray:
    """Per invoice, what it can ever bring: amount + upfront_amount (euros incl. VAT)."""
    inv = book.invoices
    up = inv["upfront_amount"].fillna(0.0).to_numpy(float) if "upfront_amount" in inv else 0.0
    return inv["amount"].to_numpy(float) + up


def expected_collections(book: Any) -> pd.Series:
    """Expected cash by day (exact, no simulation): upfronts + amount x law given ``min_day``, net of discounts.

    Indexed by date (as_of + 1 onward, by the invoice's grid day; calendars not applied). A check on levers and a
    quick estimate; the engine adds co-movement and payment-day snapping.
    """
    inv = _ensure_columns(book)
    laws, inverse = conditional_laws(book)
    amount = inv["amount"].to_numpy(float)
    grid = book.grid
    due = inv["due_date"].astype("datetime64[ns]").to_numpy()
    disc = inv["discount_rate"].to_numpy(float)
    dday = inv["discount_day"].to_numpy(float)
    as_of = pd.Timestamp(book.as_of).normalize()
    # one entry per (unique law, due date, discount) would be tidier; invoices x G is fine for test-sized books
    rows = laws[inverse] * amount[:, None]
    rows = np.where(grid[None, :] <= np.nan_to_num(dday, nan=-10**6)[:, None], rows * (1 - disc[:, None]), rows)
    dates = due[:, None] + grid[None, :].astype("timedelta64[D]")
    s = pd.Series(rows.ravel(), index=pd.DatetimeIndex(dates.ravel()))
    up = pd.Series(inv["upfront_amount"].to_numpy(float), index=pd.DatetimeIndex(inv["upfront_date"]))
    s = pd.concat([s, up[up > 0]]).groupby(level=0).sum()
    s.index = s.index.where(s.index > as_of, as_of + pd.Timedelta(days=1))
    s = s.groupby(level=0).sum()
    return s[s != 0]


# ----------------------------------------------------------------------------------------------------------------
# Effects from the company's own dunning log
# ----------------------------------------------------------------------------------------------------------------

def estimate_dunning_effects(ledger: Any, window_days: int = 7, min_actions: int = 30) -> pd.DataFrame:
    """Daily hazard ratio of paying just after vs just before each kind of dunning action, from the ledger's log.

    For each (level, channel), d = the median day of its actions relative to the due date. **Before**: among the
    invoices that could be reminded (not disputed, not on direct debit, where the ledger says so) still unpaid on
    day d - w (w = ``window_days``), the share p_b paid in (d - w, d] — all of them, since only unpaid ones are
    ever reminded. **After**: among the reminded invoices unpaid on the action day t, the share p_a paid in
    (t, t + w]. With a constant daily hazard in each window, 1 - p = (1 - h)^w, so the hazard ratio is
    ``ratio = log(1 - p_a) / log(1 - p_b)`` and ``effect = ratio - 1`` is the step's g of :class:`DunningStep`
    (a before/after contrast: it also absorbs the hazard's own trend over 2 w days, and a later step's "before"
    window holds the response to the previous step when their windows overlap, which biases later steps toward
    0). Windows running past the ledger's last date are left out. 95 % interval by the delta method on
    log(-log(1 - p)). Returns level, channel, day, n_actions, p_before, p_after, ratio, effect, ci_low, ci_high,
    reliable (n_actions >= ``min_actions`` and the interval excludes no effect: only then does
    :func:`calibrate_dunning` use it instead of the documented default).
    """
    cols = ["level", "channel", "day", "n_actions", "p_before", "p_after", "ratio", "effect", "ci_low", "ci_high",
            "reliable"]
    dun = ledger.dunning
    if dun is None or dun.empty:
        return pd.DataFrame(columns=cols)
    inv = ledger.invoices.drop_duplicates("invoice_id")
    pay = ledger.payments.sort_values("payment_date")
    pay = pay.assign(cum=pay.groupby("invoice_id")["amount"].cumsum()).merge(
        inv[["invoice_id", "amount"]].rename(columns={"amount": "inv_amount"}), on="invoice_id")
    full = pay[pay["cum"] >= pay["inv_amount"] - np.maximum(0.01, 0.005 * pay["inv_amount"].abs())]
    paid_date = full.groupby("invoice_id")["payment_date"].min().astype("datetime64[ns]")
    end = max(pd.to_datetime(ledger.payments["payment_date"]).max(), pd.to_datetime(dun["action_date"]).max())
    w = pd.Timedelta(days=window_days)
    remindable = np.ones(len(inv), dtype=bool)
    if "disputed" in inv.columns:
        remindable &= ~inv["disputed"].fillna(False).astype(bool).to_numpy()
    if "payment_method" in inv.columns:
        remindable &= (inv["payment_method"] != "direct_debit").to_numpy()
    due = inv["due_date"].astype("datetime64[ns]")
    paid_rel = (inv["invoice_id"].map(paid_date) - due).dt.days.to_numpy(dtype=float)
    paid_rel = np.where(np.isnan(paid_rel), np.inf, paid_rel)
    d = dun.merge(inv[["invoice_id", "due_date"]], on="invoice_id", how="inner")
    t = d["action_date"].astype("datetime64[ns]")
    d = d.assign(rel=(t - d["due_date"].astype("datetime64[ns]")).dt.days, paid=d["invoice_id"].map(paid_date), t=t)
    d = d[d["t"] + w <= end]
    out = []
    for (level, channel), g in d.groupby(["level", "channel"]):  # a plan's few steps
        day = int(np.median(g["rel"]))
        seen = remindable & (due + pd.Timedelta(days=day) + w <= end).to_numpy()
        rb = seen & (paid_rel > day - window_days)
        n_rb, n_pb = int(rb.sum()), int((rb & (paid_rel <= day)).sum())
        ra = g["paid"].isna() | (g["paid"] > g["t"])
        n_ra, n_pa = int(ra.sum()), int((ra & (g["paid"] <= g["t"] + w)).sum())
        pb = n_pb / n_rb if n_rb else np.nan
        pa = n_pa / n_ra if n_ra else np.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.log1p(-pa) / np.log1p(-pb)
            se = np.sqrt(pa / ((1 - pa) * n_ra * np.log1p(-pa) ** 2) + pb / ((1 - pb) * n_rb * np.log1p(-pb) ** 2))
        out.append({"level": level, "channel": channel, "day": day, "n_actions": n_ra, "p_before": pb,
                    "p_after": pa, "ratio": ratio, "effect": ratio - 1,
                    "ci_low": ratio * np.exp(-1.96 * se) - 1, "ci_high": ratio * np.exp(1.96 * se) - 1,
                    "reliable": bool(n_ra >= min_actions and np.isfinite(ratio) and ratio * np.exp(-1.96 * se) > 1)})
    return pd.DataFrame(out, columns=cols)


def dispute_share_of_late(status: pd.DataFrame) -> float:
    """Share of the late-paid amount (paid invoices with days_late > 0) that was disputed: ``DunningPlan``'s
    ``dispute_share_of_late``, from ``Ledger.status(as_of)``. 0.0 when nothing was paid late."""
    late = status[(status["status"] == "paid") & (status["days_late"] > 0)]
    total = late["amount"].abs().sum()
    return float(late.loc[late["disputed"].fillna(False).astype(bool), "amount"].abs().sum() / total) if total else 0.0


def annotate_book(book: Any, open_book: pd.DataFrame) -> Any:
    """The book with each open invoice's ``disputed`` flag and ``payment_method`` (from the ledger's open book).

    Levers use them to leave open disputes and direct-debit payers alone; future invoices get False / "transfer".
    """
    inv = book.invoices.copy()
    extra = open_book[["invoice_id", "disputed", "payment_method"]].drop_duplicates("invoice_id")
    extra = extra.set_index(extra["invoice_id"].astype(str))
    ids = inv["invoice_id"].astype(str)
    inv["disputed"] = ids.map(extra["disputed"]).fillna(False).astype(bool).to_numpy()
    inv["payment_method"] = ids.map(extra["payment_method"]).fillna("transfer").astype(str).to_numpy()
    return _with(book, invoices=inv)


def calibrate_dunning(levers: list[LeverSpec], estimates: pd.DataFrame) -> list[LeverSpec]:
    """Dunning plans whose steps take their effect from the ledger's own log where it is reliable.

    ``estimates`` = :func:`estimate_dunning_effects`; a step whose ``effect`` was not set explicitly takes the
    estimated effect of its channel (the most frequent level of it), floored at 0. Other levers pass through.
    """
    if estimates is None or estimates.empty:
        return list(levers)
    ok = estimates[estimates["reliable"].astype(bool) & estimates["effect"].notna()]
    by_channel = ok.sort_values("n_actions", ascending=False).drop_duplicates("channel").set_index("channel")
    out: list[LeverSpec] = []
    for lever in levers:
        if isinstance(lever, DunningPlan):
            def fix(steps: list[DunningStep] | None) -> list[DunningStep] | None:
                if steps is None:
                    return None
                return [s.model_copy(update={"effect": max(0.0, float(by_channel.loc[s.channel, "effect"]))})
                        if s.channel in by_channel.index and "effect" not in s.model_fields_set else s
                        for s in steps]
            lever = lever.model_copy(update={"steps": fix(lever.steps), "current": fix(lever.current)})
        out.append(lever)
    return out
