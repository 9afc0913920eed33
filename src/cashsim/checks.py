"""Parameters checked against the company's data: nothing a parameter file names may match nothing silently.

A sales-plan line, a scenario's lever or a credit limit that names a segment or a customer absent from the ledger
would change nothing (a lever at 0 EUR effect and 0 EUR cost, a plan line never booked): it is a
:class:`~cashsim.errors.ParamsError` instead, naming the key and listing what the data holds. Rule: a segment must
be the ``segment`` of an invoice or of a customer of the ledger; a customer must be a ``customer_id`` of either
(a customer *name* given instead of its id is pointed out). Every mismatch is reported at once.
:func:`check_params_against_ledger` runs where a run's ledger is read (:func:`cashsim.sources.ledger_from_params`),
so ``cashsim validate`` and every command with a parameter file fail the same way.

    >>> import pandas as pd
    >>> from types import SimpleNamespace as NS
    >>> led = NS(invoices=pd.DataFrame({"segment": ["PME"], "customer_id": ["C1"]}),
    ...          customers=pd.DataFrame({"customer_id": ["C1"], "segment": ["PME"], "customer_name": ["Acme"]}))
    >>> unknown_names(NS(sales_plan=[NS(segment="sme")], scenarios={}, alerts=NS(credit_limits={})), led)
    ["sales_plan[0].segment: 'sme' is not a segment of this company's data; segments: PME"]
"""

from __future__ import annotations

from typing import Any

from cashsim.errors import ParamsError

#: At most this many existing customer ids are listed in a message.
MAX_LISTED = 12


def _values(frame: Any, column: str) -> set[str]:
    if frame is None or column not in getattr(frame, "columns", ()):
        return set()
    return {str(v) for v in frame[column].dropna().unique() if str(v) != ""}


def _listing(names: set[str]) -> str:
    shown = sorted(names)
    more = f", ... ({len(shown) - MAX_LISTED} more)" if len(shown) > MAX_LISTED else ""
    return ", ".join(shown[:MAX_LISTED]) + more if shown else "(none)"


def unknown_names(params: Any, ledger: Any) -> list[str]:
    """One message per segment or customer named in ``params`` that the ledger does not hold (empty: all known).

    Checked: ``sales_plan[i].segment``, ``scenarios.<name>[i].segments`` / ``.customers`` and
    ``alerts.credit_limits`` keys (customer ids)."""
    segments = _values(ledger.invoices, "segment") | _values(ledger.customers, "segment")
    customers = _values(ledger.invoices, "customer_id") | _values(ledger.customers, "customer_id")
    names = {}
    if ledger.customers is not None and {"customer_name", "customer_id"} <= set(ledger.customers.columns):
        names = dict(zip(ledger.customers["customer_name"].astype(str), ledger.customers["customer_id"].astype(str),
                         strict=True))
    problems: list[str] = []

    def segment(key: str, value: Any) -> None:
        if str(value) not in segments:
            problems.append(f"{key}: {str(value)!r} is not a segment of this company's data; "
                            f"segments: {_listing(segments)}")

    def customer(key: str, value: Any) -> None:
        if str(value) in customers:
            return
        hint = f" (it is the name of customer {names[str(value)]!r}: give the id)" if str(value) in names else ""
        problems.append(f"{key}: {str(value)!r} is not a customer id of this company's data{hint}; "
                        f"customers: {_listing(customers)}")

    for i, line in enumerate(params.sales_plan):
        segment(f"sales_plan[{i}].segment", line.segment)
    for name, levers in params.scenarios.items():
        for i, lever in enumerate(levers):
            for value in getattr(lever, "segments", None) or []:
                segment(f"scenarios.{name}[{i}].segments", value)
            for value in getattr(lever, "customers", None) or []:
                customer(f"scenarios.{name}[{i}].customers", value)
    for cid in params.alerts.credit_limits:
        customer("alerts.credit_limits", cid)
    return problems


def check_params_against_ledger(params: Any, ledger: Any) -> None:
    """Raise :class:`~cashsim.errors.ParamsError` listing every :func:`unknown_names` problem; None when clean."""
    problems = unknown_names(params, ledger)
    if problems:
        where = f" ({params.base_dir})" if str(getattr(params, "base_dir", ".")) not in ("", ".") else ""
        raise ParamsError(f"the parameter file{where} names what the data does not hold:\n  "
                          + "\n  ".join(problems))
