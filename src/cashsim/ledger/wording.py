"""The wording of the ``detail`` of a rejection and of the ``used`` cell of a note: English templates (msgids of the
gettext catalogue, :mod:`cashsim.i18n`) filled with fields, so the text stays one English string in the tables and
CSV files (machine-stable, as before) and can be shown in the reader's language (:func:`translate`).

The ledger's code writes every such text with :func:`say` from a template below; :func:`parse` finds the template
and the fields back from the text, :func:`translate` looks the template up in the catalogue and writes numbers and
dates in the locale's format (``cumulative 1,013,769.55 > ...`` -> ``cumul 1 013 769,55 > ...`` in French).

>>> text = say(FIRST_AT_ROW, row=12)
>>> text, parse(text)
('first at row 12', ('first at row {row}', {'row': '12'}))
>>> translate(say(OVERPAID, cumulative=1013769.55, amount=13770.55, tolerance=68.85), "en_GB")
'cumulative 1,013,769.55 > amount 13,770.55 + tolerance 68.85'
>>> translate("a text of no template", "fr_FR")
'a text of no template'
"""

from __future__ import annotations

import re
from functools import cache

# rejection details (ledger.rejections.detail)
FIELDS_MORE_THAN_HEADER = "more fields than the header; check the separator and quotes"
EXPECTED_DATE = "expected {pattern} or yyyy-mm-dd"
EXPECTED_NUMBER = "expected a number such as 1 234,56 or 1234.56"
ORDER_GIVEN = "valid only as {alternative}; data.mapping.{table}.date_order is {order} ({chosen})"
ORDER_VOTED_DMY = ("valid only as {alternative}; the column is read {chosen}: {votes} of its dates are valid so, "
                   "{others} only as {alternative}; if the file is {alternative}, set "
                   "data.mapping.{table}.date_order: {other}")
ORDER_VOTED_MDY = ("valid only as {alternative}; the column is read {chosen}: {votes} of its dates are valid only so, "
                   "{others} as {alternative}; if the file is {alternative}, set "
                   "data.mapping.{table}.date_order: {other}")
REQUIRED_UNLESS = "{column} is required in the {table} table, unless {other} is given"
REQUIRED = "{column} is required in the {table} table"
ZERO_AMOUNT = "an amount of 0 moves no cash"
HINT_CURRENCY = "a 3-letter ISO code such as EUR"
HINT_DISPUTED = "yes/no, oui/non, true/false or 1/0"
HINT_LEVEL = "a whole number >= 1"
HINT_CREDIT_LIMIT = "a number >= 0"
NO_SUCH_INVOICE = "no invoice with this id in the invoices table"
INVOICE_ISSUED = "invoice issued {date}"
OVERPAID = "cumulative {cumulative} > amount {amount} + tolerance {tolerance}"
REJECTED_ROW = "{table} row {row}: {reason}"
NAMES_A_CREDIT_NOTE = "applies_to names the invoice a credit note settles"
ANOTHER_CUSTOMERS = "the invoice is another customer's"
ISSUED_AFTER_NOTE = "the invoice was issued after the credit note"
REFUND_NAMES_NOTE = "a refund names the credit note it refunds (invoice_id)"
NO_SUCH_CUSTOMER = "no invoice nor customers row of this customer"
INVOICE_OF = "invoice of {customer}"
FIRST_AT_ROW = "first at row {row}"
MAIN_CURRENCY = "the ledger's currency is {currency}; convert or remove these rows"
# note cells (ledger.notes.used)
KEPT_ON_ACCOUNT = "{kept} to its invoice, {rest} on account"
KEPT_TO_ON_ACCOUNT = "{kept} to {invoice}, {rest} on account"
NO_GROUP_USED = "{customer} in segment all, the customers without a client group"

TEMPLATES = (FIELDS_MORE_THAN_HEADER, EXPECTED_DATE, EXPECTED_NUMBER, ORDER_GIVEN, ORDER_VOTED_DMY, ORDER_VOTED_MDY,
             REQUIRED_UNLESS, REQUIRED, ZERO_AMOUNT, HINT_CURRENCY, HINT_DISPUTED, HINT_LEVEL, HINT_CREDIT_LIMIT,
             NO_SUCH_INVOICE, INVOICE_ISSUED, OVERPAID, REJECTED_ROW, NAMES_A_CREDIT_NOTE, ANOTHER_CUSTOMERS,
             ISSUED_AFTER_NOTE, REFUND_NAMES_NOTE, NO_SUCH_CUSTOMER, INVOICE_OF, FIRST_AT_ROW, MAIN_CURRENCY,
             KEPT_ON_ACCOUNT, KEPT_TO_ON_ACCOUNT, NO_GROUP_USED)

#: Fields whose value is itself a msgid (a date pattern, a table name, a rejection reason): translated too.
WORD_FIELDS = frozenset({"pattern", "alternative", "chosen", "table", "reason"})
_FIELD = re.compile(r"\{(\w+)\}")
_AMOUNT = re.compile(r"^-?\d{1,3}(?:,\d{3})*\.\d\d$")
_COUNT = re.compile(r"^\d{1,3}(?:,\d{3})+$|^\d+$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DECIMAL = re.compile(r"^-?\d+\.\d+$")
_PERCENT = re.compile(r"^[+-]?(\d+)(\.\d+)?%$")


def say(template: str, **fields: object) -> str:
    """``template`` filled in English: floats as ``1,234.56``, ints as ``1,234``, the rest as ``str``."""
    def shown(v: object) -> str:
        if isinstance(v, float):
            return f"{v:,.2f}"
        if isinstance(v, int) and not isinstance(v, bool):
            return f"{v:,}"
        return str(v)

    return template.format(**{k: shown(v) for k, v in fields.items()})


@cache
def _pattern(template: str) -> re.Pattern:
    parts, seen, pos = [], set(), 0
    for m in _FIELD.finditer(template):
        parts.append(re.escape(template[pos:m.start()]))
        name = m.group(1)
        parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
        seen.add(name)
        pos = m.end()
    parts.append(re.escape(template[pos:]))
    return re.compile("^" + "".join(parts) + "$", re.DOTALL)


def parse(text: str, templates: tuple[str, ...] = TEMPLATES) -> tuple[str, dict[str, str]] | None:
    """(template, fields as written) of a detail or note text, None when no template of ``templates`` writes it."""
    for template in templates:
        m = _pattern(template).match(str(text))
        if m:
            return template, m.groupdict()
    return None


def figure(value: str, locale: str) -> str | None:
    """A figure written the English way (``1,013,769.55``, ``1,415``, ``0.85``, ``+12.5%``, ``2026-10-31``) in
    the locale's format; None when ``value`` is no figure."""
    from cashsim import fmt

    if _AMOUNT.match(value):
        return fmt.number(float(value.replace(",", "")), locale=locale, decimals=2)
    if _COUNT.match(value):
        return fmt.number(int(value.replace(",", "")), locale=locale)
    if _DECIMAL.match(value):
        return fmt.number(float(value), locale=locale, decimals=len(value.split(".")[1]))
    m = _PERCENT.match(value)
    if m:
        decimals = len(m.group(2)) - 1 if m.group(2) else 0
        share = float(value[:-1]) / 100
        if value.startswith("+"):   # "+0.0%" is "0,0 %", without a sign
            return fmt.signed_percent(share, locale=locale, decimals=decimals)
        return fmt.percent(share, locale=locale, decimals=decimals)
    if _ISO_DATE.match(value):
        return fmt.date(value, locale=locale)
    return None


def translate(text: object, locale: str, templates: tuple[str, ...] = TEMPLATES,
              words: frozenset[str] = WORD_FIELDS) -> str:
    """A text written from one of ``templates`` in the language and number formats of ``locale`` (fields named in
    ``words`` are msgids too; a row number and a customer stay as they are); a text of no template as it is."""
    from cashsim import i18n

    text = "" if text is None else str(text)
    found = parse(text, templates) if text else None
    if found is None:
        return text
    template, fields = found
    gettext = i18n.translator(locale).gettext

    def shown(name: str, value: str) -> str:
        if name in ("row", "customer"):  # a row number, a customer's id and name: as written
            return value
        said = figure(value, locale)
        if said is not None:
            return said
        return gettext(value) if name in words else value

    return gettext(template).format(**{k: shown(k, v) for k, v in fields.items()})
