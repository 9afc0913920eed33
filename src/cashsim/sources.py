"""Where a run's receivables history comes from: the embedded demo company or the company's own files.

>>> from cashsim.params import parse_params
>>> from cashsim.sources import ledger_from_params
>>> ledger = ledger_from_params(parse_params({"data": {"source": "demo", "demo_seed": 7}}))  # doctest: +SKIP
"""

from __future__ import annotations

from cashsim.checks import check_params_against_ledger
from cashsim.ledger import Ledger, read_ledger
from cashsim.params import Params


def ledger_from_params(params: Params) -> Ledger:
    """The ledger a parameter file points to, checked against the params
    (:func:`cashsim.checks.check_params_against_ledger`: a segment or customer the data lacks is a ParamsError).

    ``data.source: demo`` builds the embedded demo company (``data.demo_seed``); ``data.source: files`` reads
    ``data.invoices`` / ``payments`` / ``promises`` / ``dunning`` / ``customers`` (paths relative to the params file's
    folder) with ``data.mapping`` renaming the company's columns onto cashsim's; ``data.source: fec`` reads the
    FEC files ``data.fec`` (:func:`cashsim.adapters.fec.read_fec`) with the payment terms ``data.terms`` /
    ``data.terms_table`` and the same optional side tables.
    """
    ledger = _read(params)
    check_params_against_ledger(params, ledger)
    return ledger


def _read(params: Params) -> Ledger:
    data = params.data
    if data.source == "demo":
        from cashsim.demo import demo_ledger  # lazy: the generator is only needed for the demo

        return demo_ledger(data.demo_seed)
    if data.source == "fec":
        from cashsim.adapters.fec import read_fec

        return read_fec([params.resolve(p) for p in data.fec], terms=data.terms,
                        terms_table=params.resolve(data.terms_table), customers=params.resolve(data.customers),
                        promises=params.resolve(data.promises), dunning=params.resolve(data.dunning),
                        mapping=data.mapping or None, journals=data.journals or None)
    return read_ledger(
        params.resolve(data.invoices),
        params.resolve(data.payments),
        promises=params.resolve(data.promises),
        dunning=params.resolve(data.dunning),
        customers=params.resolve(data.customers),
        mapping=data.mapping,
    )
