"""Parameter files: YAML in ``params/`` parsed safely into pydantic models.

One file per company or scenario. Every section forbids unknown keys, so a typo is an error that names the key
and the closest valid one; amounts are euros incl. VAT and may not be negative.

Example::

    >>> from cashsim.params import load_params
    >>> p = load_params("params/demo.yml")
    >>> p.simulation.n_paths
    2000
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from cashsim.errors import Msg, ParamsError
from cashsim.levers import Lever  # plain pydantic specs, no logic (docs/design.md)
from cashsim.memory import RUN_ARRAYS, check_paths, horizon_days
from cashsim.terms import parse_terms

NonNegative = Annotated[float, Field(ge=0)]
Probability = Annotated[float, Field(ge=0, le=1)]
#: A monthly amount: one figure for every month, or a month-by-month list (the last value repeats).
MonthlyAmount = NonNegative | list[NonNegative]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class DataSource(_Section):
    """Where the receivables history comes from: the embedded demo company, the company's own files, or its FEC
    (*Fichier des Écritures Comptables*, one file per fiscal year; see cashsim.adapters.fec)."""

    source: Literal["demo", "files", "fec"] = "demo"
    demo_seed: int = 7
    invoices: Path | None = None
    payments: Path | None = None
    promises: Path | None = None
    dunning: Path | None = None
    customers: Path | None = None
    #: Per table, our column name -> the company's own column name, e.g. {"invoices": {"amount": "Montant TTC"}}.
    mapping: dict[str, dict[str, str]] = Field(default_factory=dict)
    #: FEC files, one per fiscal year (source: fec).
    fec: list[Path] = Field(default_factory=list)
    #: Default payment terms of the FEC's invoices (due dates are not in a FEC), e.g. "45j net", "30j fin de mois".
    terms: str = "30j fin de mois"
    #: Per-customer payment terms: a CSV with columns customer, terms (source: fec).
    terms_table: Path | None = None
    #: FEC journal codes by role (sales, bank, opening, other), when the reader's rules classify one wrongly.
    journals: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("fec", mode="before")
    @classmethod
    def _one_or_more(cls, v: Any) -> Any:
        return [v] if isinstance(v, str | Path) else v

    @field_validator("terms")
    @classmethod
    def _terms(cls, v: str) -> str:
        try:
            parse_terms(v)
        except ParamsError as exc:
            raise ValueError(str(exc)) from None
        return v

    @model_validator(mode="after")
    def _files_given(self) -> DataSource:
        if self.source == "files" and (self.invoices is None or self.payments is None):
            raise ValueError("data.source is 'files': give data.invoices and data.payments (paths to CSV or .xlsx)")
        tables = ("invoices", "payments", "promises", "dunning", "customers")
        if self.source == "fec":
            if not self.fec:
                raise ValueError("data.source is 'fec': give data.fec, the FEC file(s), one per fiscal year")
            if self.invoices is not None or self.payments is not None:
                raise ValueError("data.source is 'fec': invoices and payments come from the FEC; remove "
                                 "data.invoices / data.payments")
            tables = ("promises", "dunning", "customers")
        unknown = set(self.mapping) - set(tables)
        if unknown:
            raise ValueError(f"data.mapping has unknown table(s) {sorted(unknown)}; use {', '.join(tables[:-1])} "
                             f"or {tables[-1]}")
        roles = set(self.journals) - {"sales", "bank", "opening", "other"}
        if roles:
            raise ValueError(f"data.journals has unknown role(s) {sorted(roles)}; use sales, bank, opening or other")
        return self


class Simulation(_Section):
    """Monte Carlo settings. Same parameters and seed give the same numbers, bit for bit."""

    n_paths: int = Field(2000, ge=1)
    seed: int = Field(42, ge=0)
    chunk_paths: int = Field(1000, ge=1)
    backend: Literal["local", "dask"] = "local"
    #: Address of an existing dask scheduler (tcp://host:8786); None starts a LocalCluster.
    dask_address: str | None = None

    def engine_options(self) -> dict[str, Any]:
        """Where and how ``cashsim.simulate.simulate`` runs (never what it computes): chunking and backend."""
        return {"chunk_paths": self.chunk_paths, "backend": self.backend, "dask_address": self.dask_address}


class Behaviour(_Section):
    """How payer behaviour is learned from the history."""

    #: Weight of an invoice halves every ``half_life_days`` of age: habits change in a crisis.
    half_life_days: float = Field(365.0, gt=0)
    #: Reliability: probability of paying within this many days after the due date.
    grace_days: int = Field(5, ge=0)
    #: A customer whose reliability score is at least this is "reliable".
    reliable_threshold: Probability = 0.8
    #: Probability that an invoice is never paid, used where write-off history is too thin (Atradius 2018: 1.3%).
    prior_never_paid: Probability = 0.013
    #: Due-month effects: ``shared`` by all segments, each segment's ``own``, or ``nested`` (shared + a deviation
    #: per segment); ``cashsim.behaviour.fit_behaviour``, ``segment_months``.
    segment_months: Literal["shared", "own", "nested"] = "shared"
    #: Months to come carry the last months' slow-down or speed-up (AR(1) persistence) only when a one-sided test at
    #: 5% says the past months are not independent; ``false`` always carries the estimated persistence.
    persistence_test: bool = True


class SalesPlanLine(_Section):
    """Planned invoicing of one client group: monthly sales incl. VAT and the payment terms they carry."""

    segment: str
    #: Monthly invoiced amount incl. VAT (one figure, or month by month from the first forecast month).
    monthly_amount: MonthlyAmount
    terms_days: int = Field(30, ge=0, le=120)
    #: "45 jours fin de mois": due at the end of the month in which issue + terms falls.
    end_of_month: bool = False
    #: Average invoice size, to split the monthly amount into invoices (euros incl. VAT).
    average_invoice: float = Field(5000.0, gt=0)


class OutflowDays(_Section):
    """Day of the month each burn category is paid (for the weekly plan); 31 means the last day."""

    salaries_and_social: int = Field(28, ge=1, le=31)
    social_charges_day: int = Field(15, ge=1, le=31)
    taxes_and_vat: int = Field(20, ge=1, le=31)
    loan_repayments: int = Field(5, ge=1, le=31)


def _percent(text: str) -> float:
    """The number of a percentage string ending in '%' (a decimal comma allowed): ' 5,5% ' -> 5.5."""
    return float(text.strip()[:-1].replace(",", "."))


class CashBurn(_Section):
    """Monthly cash burn incl. VAT by category (décaissements), the safety margin and the cash position.

    A month-by-month list starts at the first month of the current target window (see cashsim.targets).
    """

    salaries_and_social: MonthlyAmount = 0.0
    external_charges: MonthlyAmount = 0.0
    taxes_and_vat: MonthlyAmount = 0.0
    loan_repayments: MonthlyAmount = 0.0
    #: Extra target on top of the burn: an amount in euros, or a string percentage such as "5%".
    safety_margin: float | str = 0.0
    #: Share of salaries_and_social that is social charges (paid on social_charges_day, the rest at month end).
    social_share: Probability = 0.3
    window_months: int = Field(3, ge=1, le=12)
    #: Target windows are calendar blocks of window_months counted from this month (1 = January: quarters).
    window_anchor_month: int = Field(1, ge=1, le=12)
    opening_cash: float = 0.0
    minimum_balance: NonNegative = 0.0
    #: Required probability of meeting each month's target (the plan searches levers to reach it).
    required_probability: Probability = 0.8
    payment_days: OutflowDays = Field(default_factory=OutflowDays)

    @field_validator("safety_margin")
    @classmethod
    def _margin(cls, v: float | str) -> float | str:
        if isinstance(v, str):
            s = v.strip()
            if not s.endswith("%"):
                raise ValueError("safety_margin is an amount (e.g. 5000) or a percentage string (e.g. '5%')")
            try:
                pct = _percent(s)
            except ValueError as exc:
                raise ValueError(f"safety_margin {v!r} is not a percentage such as '5%'") from exc
            if pct < 0:
                raise ValueError("safety_margin may not be negative")
        elif v < 0:
            raise ValueError("safety_margin may not be negative")
        return v

    @property
    def margin_percent(self) -> float | None:
        """The safety margin's percentage ("5%" -> 5.0), or None when the margin is an amount in euros."""
        m = self.safety_margin
        return _percent(m) if isinstance(m, str) else None


class Alerts(_Section):
    """Thresholds that raise alerts in the KPIs and the report."""

    overdue_days: int = Field(60, ge=1)
    dso_increase_days: float = Field(5.0, ge=0)
    #: Service level, in days, for resolving a dispute of each type.
    dispute_sla_days: dict[str, NonNegative] = Field(
        default_factory=lambda: {"price": 3, "technical": 7, "delivery": 5, "other": 10})
    #: A reliable customer whose share of late invoices over the last 90 days exceeds this turns "late".
    turning_late_share: Probability = 0.5
    #: Credit limits by customer id (euros incl. VAT); customers absent here have none.
    credit_limits: dict[str, NonNegative] = Field(default_factory=dict)


class Finance(_Section):
    """The company's cost of money and margin, to price delays, bad debt and levers."""

    borrowing_rate: NonNegative = 0.055
    gross_margin: Probability = 0.20
    #: Staff cost per hour of collection work (euros).
    hourly_cost: NonNegative = 45.0


class Cache(_Section):
    """The fit cache (:mod:`cashsim.cache`): fitted payer models kept on disk, keyed by the ledger's content."""

    #: False: fit again every run (as ``--no-cache`` does for one command).
    enabled: bool = True
    #: Folder of the cache (relative to the params file); None: ``$CASHSIM_CACHE_DIR``, else
    #: ``$XDG_CACHE_HOME/cashsim``, else ``~/.cache/cashsim``.
    dir: Path | None = None


class Report(_Section):
    output_dir: Path = Path("reports")
    locale: str = "fr_FR"


class Params(_Section):
    """A whole parameter file."""

    company: str = "Demo company"
    currency: str = "EUR"
    #: The date the forecast stands on: what was known at the end of that day. None = the latest date in the data.
    as_of: dt.date | None = None
    horizon_months: int = Field(4, ge=1, le=24)
    data: DataSource = Field(default_factory=DataSource)
    simulation: Simulation = Field(default_factory=Simulation)
    behaviour: Behaviour = Field(default_factory=Behaviour)
    sales_plan: list[SalesPlanLine] = Field(default_factory=list)
    burn: CashBurn = Field(default_factory=CashBurn)
    alerts: Alerts = Field(default_factory=Alerts)
    finance: Finance = Field(default_factory=Finance)
    #: Named scenarios, each a list of levers (a mapping with a ``kind`` key, see cashsim.levers); "baseline" is
    #: the current practice, every other scenario changes or adds levers to it.
    scenarios: dict[str, list[Lever]] = Field(default_factory=dict)
    report: Report = Field(default_factory=Report)
    cache: Cache = Field(default_factory=Cache)
    #: Folder of the params file, for resolving relative data paths (set by load_params, not by the user).
    base_dir: Path = Field(default=Path("."), exclude=True)

    def resolve(self, path: Path | None) -> Path | None:
        """A data path as given in the file, made absolute against the params file's folder."""
        if path is None:
            return None
        return path if path.is_absolute() else (self.base_dir / path).resolve()


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The valid keys of the section a validation error location points into."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)) or part not in current.model_fields:
            return []
        ann = current.model_fields[part].annotation
        # unwrap Optional / list[...] / dict[...] to the first pydantic model inside
        stack, found = [ann], None
        while stack:
            a = stack.pop()
            if isinstance(a, type) and issubclass(a, BaseModel):
                found = a
                break
            stack.extend(getattr(a, "__args__", ()) or ())
        current = found
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


_UNION_TAG = re.compile(r"[\[\]-]|^(int|float|str|bool|list|dict)$")


def _closest(word: str, valid: list[str]) -> list[str]:
    """The valid key a typo most likely meant: a key it starts or ends, else the nearest by spelling."""
    prefix = [v for v in valid if v.startswith(word) or word.startswith(v)]
    return prefix[:1] or difflib.get_close_matches(word, valid, n=1, cutoff=0.6)


def format_validation_error(exc: ValidationError, source: str) -> str:
    """One line per problem: file, dotted key, what is wrong, and for a typo the closest valid key."""
    return "\n".join(t.format(**v) for t, v in _validation_lines(exc, source))


#: pydantic's messages of the common problems as templates of their context (``ctx``), so the command line can show
#: them in the reader's language; used only when the template gives pydantic's message exactly.
_PYDANTIC = {
    "greater_than_equal": "Input should be greater than or equal to {ge}",
    "greater_than": "Input should be greater than {gt}",
    "less_than_equal": "Input should be less than or equal to {le}",
    "less_than": "Input should be less than {lt}",
    "int_parsing": "Input should be a valid integer, unable to parse string as an integer",
    "int_from_float": "Input should be a valid integer, got a number with a fractional part",
    "float_parsing": "Input should be a valid number, unable to parse string as a number",
    "bool_parsing": "Input should be a valid boolean, unable to interpret input",
    "string_type": "Input should be a valid string",
    "missing": "Field required",
    "date_from_datetime_parsing": "Input should be a valid date or datetime, {error}",
    "literal_error": "Input should be {expected}",
}


def _problem(err: dict[str, Any]) -> Msg | str:
    """pydantic's message of ``err``: a :class:`~cashsim.errors.Msg` (translatable) when it is one of
    :data:`_PYDANTIC`, else the message itself."""
    template, ctx = _PYDANTIC.get(err["type"]), {k: v for k, v in (err.get("ctx") or {}).items()}
    if template is not None:
        try:
            if template.format(**ctx) == err["msg"]:
                return Msg(template, ctx)
        except (KeyError, IndexError, ValueError):
            pass
    return err["msg"]


def _validation_lines(exc: ValidationError, source: str) -> list[tuple[str, dict[str, Any]]]:
    """The lines of :func:`format_validation_error` as (template, values): msgids the command line translates."""
    lines, seen = [("{source}: invalid parameters", {"source": source})], set()
    for err in exc.errors():
        # drop pydantic's union-member tags ("constrained-float", "list[...]") so a key is named once
        loc = tuple(p for p in err["loc"] if isinstance(p, int) or not _UNION_TAG.search(str(p)))
        key = ".".join(str(p) for p in loc) or "(top level)"
        if key in seen:
            continue
        seen.add(key)
        if err["type"] == "extra_forbidden":
            valid = _fields_at(Params, loc)
            close = _closest(str(loc[-1]), valid)
            if close:
                lines.append(("  {key}: unknown key; did you mean '{close}'?", {"key": key, "close": close[0]}))
            elif valid:
                lines.append(("  {key}: unknown key; valid keys: {valid}", {"key": key, "valid": ", ".join(valid)}))
            else:
                lines.append(("  {key}: unknown key", {"key": key}))
        else:
            got = err.get("input")
            shown = "" if isinstance(got, dict | list) else Msg(" (got {got})", {"got": repr(got)})
            lines.append(("  {key}: {problem}{shown}", {"key": key, "problem": _problem(err), "shown": shown}))
    return lines


def _keys(exc: ValidationError) -> list[str]:
    """The dotted keys a validation error names, as :func:`format_validation_error` shows them."""
    return [".".join(str(p) for p in err["loc"] if isinstance(p, int) or not _UNION_TAG.search(str(p)))
            or "(top level)" for err in exc.errors()]


def check_memory(params: Params, *, setting: str = "simulation.n_paths", file: str | None = None,
                 arrays: int = RUN_ARRAYS) -> None:
    """Refuse ``simulation.n_paths`` when a run of ``horizon_months`` would not fit in the memory available
    (:func:`cashsim.memory.check_paths`); ``setting`` names where the number came from (a key or ``--paths``)."""
    check_paths(params.simulation.n_paths, horizon_days(params.horizon_months), setting=setting, file=file,
                arrays=arrays)


def parse_params(raw: dict[str, Any], source: str = "<params>", base_dir: Path | None = None) -> Params:
    """Validate a mapping (as read from YAML) into :class:`Params`, raising :class:`ParamsError` on any problem
    (fields ``file`` = ``source`` and ``key`` = the first key at fault), including ``simulation.n_paths`` too large
    for the memory available (:func:`check_memory`)."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ParamsError.of("{source}: the top level must be a mapping of keys, not {kind}", source=source,
                             kind=type(raw).__name__, fields={"file": source, "key": "(top level)"})
    try:
        params = Params.model_validate(raw)
    except ValidationError as exc:
        first, *more = _validation_lines(exc, source)
        raise ParamsError.of(first[0], *more, **first[1], fields={"file": source, "key": _keys(exc)[0]}) from None
    check_memory(params, setting=f"{source}: simulation.n_paths", file=source)
    return params.model_copy(update={"base_dir": base_dir or Path(".")})


class _BadValue(Exception):
    """A YAML node its constructor rejects (``2026-02-31`` looks like a date but is none), with its node and the
    constructor's error; or a key written twice, with the line it was ``first`` written on."""

    def __init__(self, node: yaml.Node, cause: Exception | None = None, first: int | None = None) -> None:
        super().__init__(str(cause) if first is None else f"written twice (first on line {first})")
        self.node, self.cause, self.first = node, cause, first


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader (the values of ``yaml.safe_load``) that says which node a constructor rejected, and
    refuses a key written twice in one mapping (``safe_load`` would silently keep the last)."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, OverflowError) as exc:
            raise _BadValue(node, exc) from None

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key, _ in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if key.value in seen:
                        raise _BadValue(key, first=seen[key.value])
                    seen[key.value] = key.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _key_of(root: yaml.Node | None, found: Any) -> str:
    """The dotted key ("sales_plan.0.terms_days") of the first node of the YAML tree ``root`` where ``found(node)``."""
    stack: list[tuple[yaml.Node, tuple[str, ...]]] = [(root, ())] if root is not None else []
    while stack:
        node, path = stack.pop()
        if found(node):
            return ".".join(path) or "(top level)"
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                name = (str(k.value) if isinstance(k, yaml.ScalarNode) else "?",)
                stack += [(k, path + name), (v, path + name)]
        elif isinstance(node, yaml.SequenceNode):
            stack += [(v, path + (str(i),)) for i, v in enumerate(node.value)]
    return "(top level)"


def read_yaml(text: str, source: str) -> Any:
    """``yaml.safe_load(text)``, with every failure a one-line :class:`ParamsError` naming ``source``, the line and
    where known the key: a syntax error (``not valid YAML at line 3, column 7: ...``), a value YAML cannot construct
    (``as_of: 2026-02-31`` -> ``as_of (line 1): '2026-02-31' is not a date (day is out of range for month)``), a key
    written twice in one mapping."""
    loader = root = None
    try:
        loader = _Loader(text)
        root = loader.get_single_node()
        return None if root is None else loader.construct_document(root)
    except _BadValue as bad:
        node, line = bad.node, bad.node.start_mark.line + 1
        key = _key_of(root, lambda n: n is node)
        kind = node.tag.rsplit(":", 1)[-1]
        shown = repr(node.value) if isinstance(node, yaml.ScalarNode) else f"a {kind}"
        where = {"source": source, "key": key, "line": line, "shown": shown}
        if bad.first is not None:
            what, where = "{source}: {key} (line {line}): {shown} is written twice (first on line {first})", {
                **where, "first": bad.first}
        elif kind == "timestamp":
            what = ("{source}: {key} (line {line}): {shown} is not a date ({cause}); write it YYYY-MM-DD, e.g. "
                    "2026-10-31")
        else:
            what = "{source}: {key} (line {line}): {shown} cannot be read as {kind} ({cause})"
        raise ParamsError.of(what, **where, cause=bad.cause, kind=kind,
                             fields={"file": source, "key": key, "line": line}) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        where = f" at line {line}, column {mark.column + 1}" if mark else ""
        key = _key_of(root, lambda n: n.start_mark.index == mark.index) if root is not None and mark else None
        problem = "; ".join(p for p in (exc.context, exc.problem) if p)
        raise ParamsError(f"{source}: not valid YAML{where}{f' ({key})' if key else ''}: {problem}",
                          file=source, line=line, key=key) from None
    except yaml.YAMLError as exc:
        raise ParamsError(f"{source}: not valid YAML: {' '.join(str(exc).split())}", file=source) from None
    finally:
        if loader is not None:
            loader.dispose()


def load_params(path: str | Path) -> Params:
    """Read a YAML parameter file safely and validate it; relative data paths resolve against its folder.

    Every problem is a :class:`ParamsError` naming the file (and the key and line where there is one): unreadable
    file, not UTF-8, YAML syntax, a value YAML cannot read (a date that does not exist), not a mapping, an invalid
    or unknown key, too many paths for the memory available."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ParamsError.of("{path}: cannot read the parameter file ({reason})", path=path, reason=exc.strerror,
                             fields={"file": str(path)}) from None
    except UnicodeDecodeError as exc:
        raise ParamsError.of("{path}: not a UTF-8 text file (byte {byte}: {problem}); save it as UTF-8", path=path,
                             byte=exc.start, problem=exc.reason, fields={"file": str(path)}) from None
    raw = read_yaml(text, str(path))
    return parse_params(raw, source=str(path), base_dir=path.resolve().parent)


_BOUNDS = {"greater_than_equal": ("at least", "ge"), "greater_than": ("more than", "gt"),
           "less_than_equal": ("at most", "le"), "less_than": ("less than", "lt")}


def _option_message(option: str, value: Any, err: dict[str, Any], key: str) -> tuple[str, dict[str, Any]]:
    """``--months must be at most 24, got 1000 (the rule of horizon_months in a params file)``, as (template,
    values): a msgid the command line translates."""
    values = {"option": option, "value": value, "key": key}
    if err["type"] in _BOUNDS:
        words, bound = _BOUNDS[err["type"]]
        return ("{option} must be " + words + " {bound}, got {value} (the rule of {key} in a params file)",
                {**values, "bound": err["ctx"][bound]})
    values = {**values, "value": repr(value), "problem": _problem(err)}
    if err["type"].startswith(("date", "datetime")):
        return ("{option} {value}: {problem}; write it YYYY-MM-DD, e.g. 2026-10-31 (the rule of {key} in a params "
                "file)", values)
    return "{option} {value}: {problem} (the rule of {key} in a params file)", values


def with_overrides(params: Params, overrides: dict[str, tuple[str, Any]], *, arrays: int = RUN_ARRAYS) -> Params:
    """``params`` with command-line values in place of the file's, validated as the file's values are: by the same
    pydantic model and the same memory check (:func:`check_memory`, for a run keeping ``arrays`` arrays).

    ``overrides`` maps a dotted key to (option, value); a value of None keeps the file's. Only the sections touched
    are replaced. A refused value raises :class:`ParamsError` naming the option (fields ``option`` and ``key``).

    >>> p = with_overrides(Params(), {"simulation.n_paths": ("--paths", 500), "horizon_months": ("--months", None)})
    >>> p.simulation.n_paths, p.horizon_months
    (500, 4)
    >>> with_overrides(Params(), {"horizon_months": ("--months", 1000)})
    Traceback (most recent call last):
    cashsim.errors.ParamsError: --months must be at most 24, got 1000 (the rule of horizon_months in a params file)
    """
    given = {key: item for key, item in overrides.items() if item[1] is not None}
    if not given:
        return params
    sections = {key.split(".")[0] for key in given}
    data = {s: v for s, v in params.model_dump(exclude_unset=True).items() if s in sections}
    for key, (_, value) in given.items():
        *parents, last = key.split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    try:
        checked = Params.model_validate(data)
    except ValidationError as exc:
        err, key = exc.errors()[0], _keys(exc)[0]
        option, value = next(((o, v) for k, (o, v) in given.items() if key == k or key.startswith(k + ".")),
                             next(iter(given.values())))
        template, values = _option_message(option, value, err, key)
        raise ParamsError.of(template, **values, fields={"option": option, "key": key}) from None
    out = params.model_copy(update={s: getattr(checked, s) for s in sections})
    paths_option = given.get("simulation.n_paths", ("simulation.n_paths", None))[0]
    check_memory(out, setting=paths_option, arrays=arrays)
    return out


def dump_params(params: Params) -> str:
    """The parameters as YAML text that :func:`load_params` reads back to equal parameters."""
    data = params.model_dump(mode="json", exclude={"base_dir"}, exclude_defaults=False)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def monthly_values(amount: float | list[float], n_months: int) -> list[float]:
    """Expand a MonthlyAmount to ``n_months`` figures; a list shorter than that repeats its last value."""
    if isinstance(amount, list):
        if not amount:
            return [0.0] * n_months
        return [float(amount[min(i, len(amount) - 1)]) for i in range(n_months)]
    return [float(amount)] * n_months
