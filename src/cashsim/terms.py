"""Payment terms (*conditions de paiement*, *délais de paiement*) as French invoices state them, and the due dates
they give.

A term is ``issue + days``, then optionally the end of that month (*fin de mois*), then either ``extra_days`` more or
the ``on_day``-th of the following month (*le 10*). Accepted forms (case, accents, '+' and the words *net*,
*date de facture* are ignored; *j*, *jour*, *jours* are the same; *FDM* = *fin de mois*):

=============================================  ==========================================================
``45j net``, ``45 jours``, ``45``               issue + 45 days
``30j fin de mois``, ``30 jours fin de mois``   issue + 30 days, then the end of that month
``30j fin de mois le 10``                       issue + 30 days, end of that month, then the 10th of the next
``fin de mois``                                 end of the issue month
``fin de mois 30j``, ``fin de mois + 30 jours`` end of the issue month, then + 30 days
``fin de mois le 10``                           the 10th of the month after the issue month
``à réception``, ``comptant``, ``immédiat``     the issue date
=============================================  ==========================================================

``le D`` past the end of the next month (``le 31`` in April) means its last day.

>>> terms = parse_terms("30 jours fin de mois")
>>> due_dates(pd.Series(pd.to_datetime(["2026-12-15"])), terms).dt.strftime("%Y-%m-%d").tolist()
['2027-01-31']
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import pandas as pd

from cashsim.errors import ParamsError

#: The forms accepted, for error messages.
ACCEPTED_FORMS = ("45j net", "45 jours", "30j fin de mois", "30 jours fin de mois", "30j fin de mois le 10",
                  "fin de mois", "fin de mois 30j", "fin de mois le 10", "à réception", "comptant")
#: Longest term accepted, calendar days (beyond, the text is more likely a typo than a term).
MAX_DAYS = 366


@dataclass(frozen=True)
class PaymentTerms:
    """``due = issue + days``; if ``end_of_month``: end of that month; then ``+ extra_days`` or the ``on_day``-th
    of the following month. ``text`` is the term as written."""

    days: int = 0
    end_of_month: bool = False
    extra_days: int = 0
    on_day: int | None = None
    text: str = ""

    def __str__(self) -> str:
        return self.text


def _normalise(text: str) -> str:
    """'30 Jours Fin de Mois + 10' -> '30j fdm 10'."""
    ascii_ = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    ascii_ = re.sub(r"[+,;:.()]", " ", ascii_)
    ascii_ = re.sub(r"\bfin\s+de\s+mois\b|\bfdm\b", " fdm ", ascii_)
    ascii_ = re.sub(r"\bdate\s+(de\s+)?(la\s+)?facture\b|\bnet\b|\bnets\b", " ", ascii_)
    ascii_ = re.sub(r"(\d+)\s*(jours|jour|j)\b", r"\1j", ascii_)
    return " ".join(ascii_.split())


_FORMS = (
    (re.compile(r"^(a )?reception( de facture)?$|^comptant$|^immediat$|^0j?$"), lambda m: (0, False, 0, None)),
    (re.compile(r"^(\d+)j?$"), lambda m: (int(m[1]), False, 0, None)),
    (re.compile(r"^(\d+)j fdm(?: le (\d+))?$"), lambda m: (int(m[1]), True, 0, int(m[2]) if m[2] else None)),
    (re.compile(r"^fdm(?: (\d+)j)?$"), lambda m: (0, True, int(m[1] or 0), None)),
    (re.compile(r"^fdm le (\d+)$"), lambda m: (0, True, 0, int(m[1]))),
)


def parse_terms(text: str, where: str = "") -> PaymentTerms:
    """Read a payment term written the French way (see the module docstring).

    Raises :class:`~cashsim.errors.ParamsError` naming the value (and ``where`` it was found) and listing the
    accepted forms.

    >>> parse_terms("45j FDM")
    PaymentTerms(days=45, end_of_month=True, extra_days=0, on_day=None, text='45j FDM')
    """
    clean = _normalise(str(text))
    for pattern, build in _FORMS:
        m = pattern.match(clean)
        if m:
            days, eom, extra, on_day = build(m)
            if days <= MAX_DAYS and extra <= MAX_DAYS and (on_day is None or 1 <= on_day <= 31):
                return PaymentTerms(days, eom, extra, on_day, str(text).strip())
    place = f" ({where})" if where else ""
    raise ParamsError(f"payment terms {text!r}{place} not understood; accepted forms: "
                      + ", ".join(repr(f) for f in ACCEPTED_FORMS))


def due_dates(issue: pd.Series, terms: PaymentTerms) -> pd.Series:
    """Due dates of invoices issued on ``issue`` (datetime64 Series) under ``terms``, at midnight.

    >>> due_dates(pd.Series(pd.to_datetime(["2026-01-20"])), parse_terms("fin de mois le 10")).iloc[0].date()
    datetime.date(2026, 2, 10)
    """
    due = issue + pd.to_timedelta(terms.days, unit="D")
    if terms.end_of_month:
        due = due + pd.offsets.MonthEnd(0)
        if terms.on_day is not None:
            next_end = due + pd.offsets.MonthEnd(1)
            due = (due + pd.to_timedelta(terms.on_day, unit="D")).where(
                lambda d: d <= next_end, next_end)
    return due + pd.to_timedelta(terms.extra_days, unit="D")
