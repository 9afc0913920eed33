"""Numbers, money, percentages and dates written the way the reader of the report expects them (Babel / CLDR).

The locale comes from ``params.report.locale`` (``fr_FR`` by default; ``fr-FR`` is accepted too). French money is
written ``1 234 567,89 €``: the thousands separator is a NARROW NO-BREAK SPACE (U+202F) and the space before the
euro sign a NO-BREAK SPACE (U+00A0), exactly as CLDR / Babel give them, so a figure never breaks across two lines.
Dates follow the locale's "medium" pattern by default (``3 nov. 2026`` in French, ``Nov 3, 2026`` in US English):
unambiguous whatever the reader's habit of day/month order.

Missing values (None, NaN, NaT) are written as an en dash, never as ``nan``.

Example::

    >>> money(1234567.89)
    '1\\u202f234\\u202f567,89\\xa0€'
    >>> money(1234567.89, locale="en_US")
    '€1,234,567.89'
    >>> percent(0.823, decimals=1)
    '82,3\\xa0%'
    >>> month_name("2026-11")
    'novembre 2026'

Tables for the report go through :func:`table`, a pandas ``Styler`` whose every text cell and label is
HTML-escaped, so a customer named ``<script>…`` is shown as text and never runs; a live view (the scenario panel)
uses :func:`html_table`, plain ``DataFrame.to_html`` with the same formatters and the same escaping.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import (
    format_compact_currency,
    format_currency,
    format_decimal,
    format_percent,
    get_decimal_symbol,
    get_group_symbol,
)

from cashsim.errors import ParamsError

if TYPE_CHECKING:
    import pandas as pd
    from pandas.io.formats.style import Styler

DEFAULT_LOCALE = "fr_FR"
MISSING = "–"  # en dash: what a finance reader expects for "no figure"


@lru_cache(maxsize=32)
def parse_locale(locale: str = DEFAULT_LOCALE) -> Locale:
    """The Babel ``Locale`` for ``fr_FR`` or ``fr-FR``; a ParamsError names ``report.locale`` when unknown."""
    try:
        return Locale.parse(str(locale).replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError) as exc:
        raise ParamsError(f"report.locale {locale!r} is not a locale Babel knows ({exc}); "
                          "use a language_TERRITORY code such as fr_FR, en_GB or de_DE") from None


def _missing(x: object) -> bool:
    if x is None:
        return True
    import pandas as pd  # here, not at the top: `cashsim --help` (cashsim.commands) needs no pandas

    if x is pd.NaT:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def money(amount: float | None, *, locale: str = DEFAULT_LOCALE, currency: str = "EUR", decimals: int = 2) -> str:
    """An amount of money in the locale's pattern: ``money(1234567.89) == '1 234 567,89 €'`` (U+202F, U+00A0).

    ``decimals=0`` rounds to whole euros (headline figures); Babel rounds half to even. Never ``-0 €``, as
    :func:`number`: an amount that rounds to nothing has no sign.

    >>> money(-0.3, locale="en_GB", decimals=0), money(-0.004, locale="en_GB"), money(-0.6, locale="en_GB", decimals=0)
    ('€0', '€0.00', '-€1')
    """
    if _missing(amount):
        return MISSING
    loc = parse_locale(locale)
    if decimals == 2:
        return _unsigned_zero(float(amount), lambda v: format_currency(v, currency, locale=loc))
    pattern = loc.currency_formats["standard"].pattern.split(";")[0]
    frac = "0" * decimals
    pattern = pattern.replace("#,##0.00", "#,##0" + ("." + frac if decimals else ""))
    return _unsigned_zero(float(amount), lambda v: format_currency(v, currency, format=pattern, locale=loc,
                                                                     currency_digits=False))


def money_short(amount: float | None, *, locale: str = DEFAULT_LOCALE, currency: str = "EUR") -> str:
    """A compact amount for headlines and chart labels: ``1,23 M €`` (fr), ``€1.23M`` (en)."""
    if _missing(amount):
        return MISSING
    a = float(amount)
    if abs(a) < 10_000:
        return money(a, locale=locale, currency=currency, decimals=0)
    return format_compact_currency(a, currency, locale=parse_locale(locale), fraction_digits=2)


#: a written figure that is not a zero (``0``, ``0,0 %``) holds one of these (infinity is not a zero)
_NONZERO = re.compile("[1-9∞]")


def _unsigned_zero(value: float, write) -> str:
    """``write(value)``, or ``write(0.0)`` when that shows a negative value as a zero (``-0``, ``-0,0 %``): a figure
    that rounds to nothing has no sign. Decided on the text written, so Babel's own rounding (half to even, on the
    decimal of the float) decides, not a float ``round`` that can disagree with it (-0.05 at one decimal)."""
    text = write(value)
    if value <= 0 and math.isfinite(value) and not _NONZERO.search(text):
        return write(0.0)
    return text


def number(x: float | None, *, locale: str = DEFAULT_LOCALE, decimals: int = 0) -> str:
    """A plain number with the locale's separators: ``number(1234.5, decimals=1) == '1 234,5'``; never ``-0``.

    >>> [number(x, locale="en_GB", decimals=d) for x, d in ((-0.4, 0), (-0.05, 1), (-0.06, 1))]
    ['0', '0.0', '-0.1']
    """
    if _missing(x):
        return MISSING
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    loc = parse_locale(locale)
    return _unsigned_zero(float(x), lambda v: format_decimal(v, format=pattern, locale=loc))


def percent(p: float | None, *, locale: str = DEFAULT_LOCALE, decimals: int = 0) -> str:
    """A share (0.823) as a percentage in the locale's pattern: ``'82 %'`` (fr, U+00A0), ``'82%'`` (en).

    >>> percent(-0.001, locale="en_GB"), percent(-0.001, locale="en_GB", decimals=1)
    ('0%', '-0.1%')
    """
    if _missing(p):
        return MISSING
    loc = parse_locale(locale)
    pattern = loc.percent_formats[None].pattern.split(";")[0]
    if decimals:
        pattern = pattern.replace("#,##0", "#,##0." + "0" * decimals, 1)
    # a share that rounds to nothing is "0 %", never "-0 %"
    return _unsigned_zero(float(p), lambda v: format_percent(v, format=pattern, locale=loc))


def signed_percent(p: float | None, *, locale: str = DEFAULT_LOCALE, decimals: int = 0) -> str:
    """:func:`percent` with a ``+`` before a positive share (a bias, a change): ``'+1,5 %'``, ``'-1,5 %'``; a share
    that rounds to nothing has no sign, as :func:`percent` never writes ``-0``.

    >>> signed_percent(0.015, locale="en_GB", decimals=1), signed_percent(0.0004, locale="en_GB", decimals=1)
    ('+1.5%', '0.0%')
    """
    text = percent(p, locale=locale, decimals=decimals)
    return "+" + text if not _missing(p) and p > 0 and _NONZERO.search(text) else text


def _as_date(d: object) -> dt.date:
    if isinstance(d, dt.datetime):
        return d.date()
    if isinstance(d, dt.date):
        return d
    import pandas as pd

    return pd.Timestamp(d).date()


def date(d: object, *, locale: str = DEFAULT_LOCALE, style: str = "medium") -> str:
    """A calendar date in the locale's ``short`` / ``medium`` / ``long`` pattern (``3 nov. 2026`` in fr medium)."""
    if _missing(d):
        return MISSING
    return format_date(_as_date(d), format=style, locale=parse_locale(locale))


def month_name(month: object, *, locale: str = DEFAULT_LOCALE) -> str:
    """A month (``"2026-11"``, a Period or a date in it) as the reader says it: ``novembre 2026``."""
    if _missing(month):
        return MISSING
    import pandas as pd

    first = pd.Period(str(month)[:7] if isinstance(month, str) else month, freq="M").start_time.date()
    return format_date(first, format="LLLL y", locale=parse_locale(locale))


def plotly_separators(locale: str = DEFAULT_LOCALE) -> str:
    """Plotly's ``layout.separators`` (decimal mark then thousands mark) for the locale: ``',\\u202f'`` in French."""
    loc = parse_locale(locale)
    return get_decimal_symbol(loc) + get_group_symbol(loc)


def currency_affixes(*, locale: str = DEFAULT_LOCALE, currency: str = "EUR") -> tuple[str, str]:
    """(prefix, suffix) that put the currency sign where the locale writes it: ('', '\\xa0€') fr, ('€', '') en."""
    sample = format_currency(1, currency, locale=parse_locale(locale))
    core = format_decimal(1, format="0.00", locale=parse_locale(locale))
    before, _, after = sample.partition(core)
    return before, after


def format_columns(frame: pd.DataFrame, *, money_cols: Iterable[str] = (), percent_cols: Iterable[str] = (),
                   date_cols: Iterable[str] = (), number_cols: Iterable[str] = (), locale: str = DEFAULT_LOCALE,
                   currency: str = "EUR", money_decimals: int = 0, percent_decimals: int = 0) -> dict:
    """Per-column formatters (a dict for ``Styler.format``) for the columns of ``frame`` that are present."""
    present = set(frame.columns)
    out = {}
    for c in money_cols:
        if c in present:
            out[c] = lambda v, _d=money_decimals: money(v, locale=locale, currency=currency, decimals=_d)
    for c in percent_cols:
        if c in present:
            out[c] = lambda v, _d=percent_decimals: percent(v, locale=locale, decimals=_d)
    for c in date_cols:
        if c in present:
            out[c] = lambda v: date(v, locale=locale)
    for c in number_cols:
        if c in present:
            out[c] = lambda v: number(v, locale=locale)
    return out


def table(frame: pd.DataFrame, *, money_cols: Iterable[str] = (), percent_cols: Iterable[str] = (),
          date_cols: Iterable[str] = (), number_cols: Iterable[str] = (), locale: str = DEFAULT_LOCALE,
          currency: str = "EUR", money_decimals: int = 0, percent_decimals: int = 0, hide_index: bool = True,
          labels: dict[str, str] | None = None, caption: str | None = None) -> Styler:
    """A report table: locale-formatted columns, right-aligned figures, every string and label HTML-escaped.

    ``DataFrame.style.to_html()`` does not escape by default; this sets ``escape="html"`` on every cell and on both
    indexes, so data from the ledger (customer names) can never inject markup into the report.
    ``labels`` renames columns for the reader ({data name: shown name}); formatters follow the rename.

    Example::

        >>> import pandas as pd
        >>> html = table(pd.DataFrame({"customer_name": ["<b>x</b>"], "amount": [1234.6]}),
        ...              money_cols=["amount"]).to_html()
        >>> "&lt;b&gt;x&lt;/b&gt;" in html and "1\u202f235\xa0€" in html
        True
    """
    import pandas as pd

    labels = labels or {}
    formatters = format_columns(frame, money_cols=money_cols, percent_cols=percent_cols, date_cols=date_cols,
                                number_cols=number_cols, locale=locale, currency=currency,
                                money_decimals=money_decimals, percent_decimals=percent_decimals)
    figures = [labels.get(c, c) for c in frame.columns
               if c in formatters or pd.api.types.is_numeric_dtype(frame[c])]
    texts = [labels.get(c, c) for c in frame.columns if labels.get(c, c) not in figures]
    short = [labels.get(c, c) for c in frame.columns if labels.get(c, c) in texts
             and frame[c].astype(str).str.len().max() <= 24]  # ids and names: keep on one line
    formatters = {labels.get(c, c): f for c, f in formatters.items()}
    shown = frame.rename(columns=labels)
    loc = parse_locale(locale)
    styler = (shown.style
              .format(escape="html", na_rep=MISSING, precision=0,
                      thousands=get_group_symbol(loc), decimal=get_decimal_symbol(loc))
              .format(formatters, escape="html", na_rep=MISSING)
              .format_index(escape="html", axis=1)
              .format_index(escape="html", axis=0)
              .set_properties(subset=figures, **{"text-align": "right", "white-space": "nowrap"})
              .set_properties(subset=texts, **{"text-align": "left"})
              .set_properties(subset=short, **{"white-space": "nowrap"})
              .set_table_styles([{"selector": "th", "props": [("text-align", "left")]}], overwrite=False))
    if hide_index:
        styler = styler.hide(axis="index")
    if caption:
        styler = styler.set_caption(html.escape(str(caption)))
    return styler


#: Style of :func:`html_table`: figures right-aligned, compact rows (a widget's HTML carries it once per table).
TABLE_CSS = ("<style>.cashsim-table{border-collapse:collapse;font-size:12px}"
             ".cashsim-table th{text-align:left;padding:2px 8px;border-bottom:1px solid #999}"
             ".cashsim-table td{text-align:right;padding:2px 8px;white-space:nowrap}</style>")


def html_table(frame: pd.DataFrame, *, money_cols=(), percent_cols=(), labels: dict[str, str] | None = None,
               locale: str = DEFAULT_LOCALE, currency: str = "EUR") -> str:
    """A table as HTML with the locale's formats (:func:`format_columns`), every cell HTML-escaped.

    ``DataFrame.to_html`` rather than a ``Styler`` (:func:`table`): ten times faster, which a live
    panel needs; customer names are escaped all the same (``escape=True``).
    """
    formatters = format_columns(frame, money_cols=money_cols, percent_cols=percent_cols, locale=locale,
                                currency=currency)
    shown = frame.rename(columns=labels or {})
    formatters = {(labels or {}).get(c, c): f for c, f in formatters.items()}
    return TABLE_CSS + shown.to_html(index=False, escape=True, formatters=formatters, na_rep=MISSING,
                                     classes="cashsim-table", border=0)
