"""The words of cashsim's results in the reader's language: lever and scenario names, plan actions, next dunning
steps and alerts, which the library below writes in English (``ask a 30% deposit at order``), put into the
catalogue's language (:mod:`cashsim.i18n`) with their figures in the locale's format. The report and the scenario
panel both show them through these functions, so they say the same words.

Rule: the library below (levers, kpi) writes English texts with figures inside; these functions match each against
a pattern, format the figures in the locale and look the sentence up in the catalogue. A text no pattern knows is
looked up as it is (English when the catalogue lacks it), never dropped; a code (``key_accounts``) without a
translation is shown with spaces for its underscores.

Example::

    >>> action_text("ask a 30% deposit at order", "fr_FR")
    'demander un acompte de 30\\xa0% à la commande'
    >>> lever_name("factoring_key_accounts", "fr_FR")
    'affacturage des grands comptes'
"""

from __future__ import annotations

import re

from cashsim import fmt, i18n


def translator_of(locale: str) -> i18n.Translator:
    """The catalogue of ``locale`` (``report.locale`` of the params)."""
    return i18n.translator(locale)


def lever_name(name: str, locale: str) -> str:
    """A lever or scenario name (``deposits``, ``discount_2_10``, ``a+b`` combinations) in the reader's words."""
    _ = translator_of(locale)
    parts = [p.strip() for p in re.split(r"\s*[,+]\s*", str(name)) if p.strip()]
    shown = []
    for part in parts:
        said = _(part)
        shown.append(said if said != part else part.replace("_", " "))
    return " + ".join(shown)


def _pct(text: str, locale: str) -> str:
    return fmt.percent(float(text.rstrip("%")) / 100, locale=locale, decimals=1 if "." in text else 0)


def action_text(text: str, locale: str) -> str:
    """A plan action of :mod:`cashsim.levers` (``offer 2.0% if paid by 2026-11-20``...) in the reader's words."""
    _ = translator_of(locale)
    s = str(text)
    m = re.fullmatch(r"ask a ([\d.]+%) deposit at order", s)
    if m:
        return _("ask a {share} deposit at order").format(share=_pct(m[1], locale))
    m = re.fullmatch(r"offer ([\d.]+%) if paid by (\d{4}-\d{2}-\d{2})", s)
    if m:
        return _("offer {rate} if paid by {date}").format(rate=_pct(m[1], locale), date=fmt.date(m[2], locale=locale))
    m = re.fullmatch(r"call #(\d+): ask for a payment date within (\d+) days", s)
    if m:
        return _("call #{rank}: ask for a payment date within {days} days").format(rank=m[1], days=m[2])
    m = re.fullmatch(r"assign to (\w+) \(([\d.]+%) advance\)", s)
    if m:
        return _("assign to {method} ({advance} advance)").format(method=_(m[1]), advance=_pct(m[2], locale))
    m = re.fullmatch(r"formal notice / suspension threat beyond (\d+) days overdue", s)
    if m:
        return _("formal notice / suspension threat beyond {days} days overdue").format(days=m[1])
    m = re.fullmatch(r"day ([+-]\d+): (\w+) \((\w+)\), cost ([\d.]+) EUR"
                     r"(?:, recovers ([\d.]+%) of the otherwise lost)?", s)
    if m:
        said = _("day {day}: {channel} ({tone}), cost {cost}").format(
            day=m[1], channel=_(m[2]), tone=_(m[3]), cost=fmt.money(float(m[4]), locale=locale))
        if m[5]:
            said += _(", recovers {share} of what would otherwise be lost").format(share=_pct(m[5], locale))
        return said
    m = re.fullmatch(r"settle the (\w+) dispute by (\d{4}-\d{2}-\d{2})", s)
    if m:
        return _("settle the {kind} dispute by {date}").format(kind=_(m[1]), date=fmt.date(m[2], locale=locale))
    m = re.fullmatch(r"announce a ([\d.]+%) year-end rebate on invoices paid by their due date"
                     r"(?: \+ (\d+) days)?", s)
    if m:
        said = _("announce a {rate} year-end rebate on invoices paid by their due date").format(rate=_pct(m[1], locale))
        return said + (_(" + {days} days").format(days=m[2]) if m[2] else "")
    return _(s)


def next_step(text: str, locale: str) -> str:
    """A next dunning step of :func:`cashsim.kpi.next_action` in the reader's words (the catalogue holds them)."""
    return translator_of(locale)(str(text))


def lateness(days, locale: str) -> str:
    """Days overdue as a collector reads them: ``11`` when 11 days late; an invoice not yet due is no negative
    lateness but ``due in 11 d`` (*à échoir dans 11 j*), ``due today`` on its due date; empty when unknown."""
    try:
        d = float(days)
    except (TypeError, ValueError):
        return str(days)
    if d != d:  # NaN
        return ""
    n = int(round(d))
    _ = translator_of(locale)
    if n > 0:
        return fmt.number(n, locale=locale)
    if n == 0:
        return _("due today")
    return _("due in {n} d").format(n=fmt.number(-n, locale=locale))


def alert_text(row, locale: str, currency: str = "EUR") -> str:
    """The message of one :func:`cashsim.kpi.alerts` row rebuilt from its kind, value and threshold."""
    _ = translator_of(locale)
    kind, value, threshold = row["alert"], row["value"], row["threshold"]
    money = lambda x: fmt.money(x, locale=locale, currency=currency, decimals=0)  # noqa: E731
    if kind == "over_credit_limit":
        return _("balance {balance} over credit limit {limit}").format(balance=money(value), limit=money(threshold))
    if kind == "overdue_balance":
        return _("{amount} more than {days} days past due").format(amount=money(value), days=int(threshold))
    if kind == "dso_increase":
        return _("countback DSO up {days} days in a month").format(days=fmt.number(value, locale=locale, decimals=1))
    if kind == "dispute_past_sla":
        return _("dispute open {days} days (service level {sla} days)").format(days=int(value), sla=int(threshold))
    if kind == "reliable_turning_late":
        return _("reliable customer turning late: {share} of its recent invoices late").format(
            share=fmt.percent(value, locale=locale))
    return _(str(row.get("message", "")))


def no_sales_plan_sentence(n_open: int, open_amount: float, as_of, *, locale: str, currency: str = "EUR") -> str:
    """Why the later forecast months are low when the parameters have no sales plan (``sales_plan:`` empty): the
    forecast then counts only the ``n_open`` invoices already issued (``open_amount`` at ``as_of``), none of the
    cash future sales will bring, so every month after their due dates reads close to 0 and its target looks out
    of reach. The report's first screen and ``cashsim targets`` say it; ``cashsim forecast`` says "no sales plan"
    in its title line.

    >>> no_sales_plan_sentence(12, 39766.2, "2026-10-31", locale="fr_FR")[60:127]
    'la prévision ne compte que les factures déjà émises (12 ouvertes au'
    """
    return i18n.translator(locale).gettext(
        "No sales plan in the parameters (key sales_plan): the forecast counts only the invoices already issued "
        "({n} open on {date}, {amount}), none of the cash future sales will bring, so the later months are "
        "understated and their targets look out of reach. Add the planned monthly sales per client group (see "
        "params/demo.yml).").format(
        n=fmt.number(n_open, locale=locale), date=fmt.date(as_of, locale=locale),
        amount=fmt.money(float(open_amount), locale=locale, currency=currency, decimals=0))
