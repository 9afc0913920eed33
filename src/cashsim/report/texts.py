"""The report's headings and explanations, written once as English msgids and shown in the reader's language.

Rule: the notebooks hold no prose of their own; a cell calls ``report.section(run, "weekly")``, which returns the
section's heading (level 2, or 3 for a sub-section) and its explanation from :data:`SECTIONS`, translated through the
message catalogue (:mod:`cashsim.i18n`) of ``params.report.locale``.

Example (in a notebook)::

    >>> report.section(run, "weekly")                              # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

from cashsim import fmt
from cashsim.report.words import tr

#: key -> (heading level, heading, explanation); the English texts are the catalogue's msgids.
SECTIONS: dict[str, tuple[int, str, str]] = {
    "answer": (2, "The month's answer",
               "How much cash must come in this month (the smoothed target), how much the forecast expects, the "
               "chance of making it, and the expected shortfall (the average of what is missing over all paths, "
               "zero on the paths that make it)."),
    "split": (2, "Open receivables: due or not, reliable or not",
              "The collection guides' first step: what is owed, split between invoices not yet due and overdue "
              "ones, and between reliable and less reliable payers (as the fitted payer model rates them), with "
              "what the forecast expects to collect from each group this month and next."),
    "weekly": (2, "Weekly cash plan",
               "The bank balance at the end of each week: the opening balance, plus the simulated collections, "
               "minus the outflows on their payment days. The dashed line is the minimum balance; the orange bars "
               "give the chance of going under it at some point in the week."),
    "burn": (3, "What must be paid out",
             "The outflows the collections must cover, month by month and by category, with the safety margin."),
    "forecast": (2, "Forecast against the target",
                 "Collections month by month: the dark line is the median, the bands hold 50 %, 80 % and 90 % of "
                 "the simulated outcomes. The red dashed line is the smoothed target: a shortfall early in a quarter "
                 "raises the later months' targets, a surplus lowers them. The bars below give P(target met) per "
                 "month against the required probability."),
    "hindsight": (3, "Forecast against actual",
                  "The month just closed: what the forecast made at the end of the month before expected (its "
                  "median and the band holding 80 % of the simulated outcomes, from the previous report's "
                  "summary.json, else recomputed with the same parameters on the data known then) against the cash "
                  "that came in. The PIT is the share of the forecast outcomes below the actual: over the months it "
                  "should spread evenly between 0 and 1, and the actual fall inside the band 8 months in 10."),
    "levers": (2, "Levers side by side",
               "Each collection lever of the parameters simulated on the same paths as the baseline (common random "
               "numbers), so the differences are the lever's effect, not noise: extra cash in the month (mean, and "
               "the 10th / 90th percentiles), the P(target met) it reaches, its cost to date, its cost per euro "
               "brought forward and the annual rate that amounts to (to set against the cost of borrowing), and the "
               "risk to the customer relationship."),
    "plan": (3, "The plan",
             "The cheapest combination of levers that brings P(target met) to the required probability in every "
             "month, or the closest one and the financing that would bridge what is left. Its first actions "
             "follow."),
    "accounts": (2, "Call list by account",
                 "Who to call first, one line per customer account, the largest overdue balance first: the next "
                 "step of its most advanced invoice and who owns it (collector or sales rep, from the customers "
                 "file), the promises to pay still pending or broken, and the disputes past their service level. "
                 "The same list, one sheet per owner, is in the battle-plan workbook beside this report."),
    "promises": (3, "Promises to pay",
                 "A promise is kept when the invoice is paid, or the promised amount received, by the promised date "
                 "plus three days; broken when that date has passed without it."),
    "kpi": (2, "Receivables KPIs",
            "DSO by the standard method (receivables / sales of the last 3 months x their days) and by the "
            "countback method (how many days of the latest sales the receivables still hold), month by month, as "
            "the books stood at each month end. The aged balance splits what is still owed by days past due."),
    "kpi_accounts": (3, "KPIs per client group and per account",
                     "Countback DSO, aged balance, late rate over the last year and median days to resolve a "
                     "dispute, for each client group and for the accounts with the largest receivables."),
    "disputes": (3, "Disputes against their service levels",
                 "Open disputes, how long they take to resolve by type, and the share resolved within the service "
                 "level set in the parameters."),
    "claims": (3, "What the law allows to claim, and what customers really cost",
               "Late-payment interest (ECB rate of the half-year + 10 points) and the 40 € indemnity per late "
               "invoice, shown as claimable, never assumed collected; then the true cost of the costliest "
               "customers: financing of their delays at the borrowing rate, collection effort and expected bad "
               "debt."),
    "alerts": (2, "Alerts",
               "Raised by the thresholds of the parameters: a customer over its credit limit, a balance overdue for "
               "more than the set days, DSO up by more than the set days in a month, a dispute past its service "
               "level, a reliable customer turning late."),
    "calls": (3, "Call list by invoice",
              "The invoices behind the accounts: overdue ones, and those about to fall due from less reliable "
              "customers, ranked by the amount at stake weighted by the risk of not being paid, each with the "
              "suggested next dunning step."),
    "shortfall": (2, "Who the shortfall comes from",
                  "On the paths where the month's target is missed, how much less than expected each customer pays, "
                  "with its standard error and the 10th-90th percentiles of that gap: the customers to secure "
                  "first."),
    "quality": (2, "Data quality",
                "Every row read from the ledger files is either used or rejected with its reason: the counts below "
                "must balance. Rejected rows are listed with their file, spreadsheet row and column, so they can be "
                "fixed at the source."),
}


@dataclass(frozen=True)
class Markdown:
    """Markdown text a notebook displays as such (``_repr_markdown_``), without importing IPython here."""

    text: str

    def _repr_markdown_(self) -> str:
        return self.text


@dataclass(frozen=True)
class Sentence(Markdown):
    """A sentence shown where a table would be (why it is empty): Markdown in the notebook, and a paragraph for the
    HTML pages that take a table's ``to_html()`` (the print summary); `code` spans become ``<code>``."""

    def to_html(self) -> str:
        import html
        import re

        return '<p class="cashsim-note">' + re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(self.text)) + "</p>"


def section_text(key: str, locale: str) -> str:
    """The Markdown of a section (heading and explanation) in the language of ``locale``."""
    from cashsim.report.words import translator_of

    _ = translator_of(locale)
    level, heading, text = SECTIONS[key]
    return f"{'#' * level} {_(heading)}\n\n{_(text)}"


def section(run, key: str) -> Markdown:
    """A section's heading and explanation for the notebook, in the run's language (``params.report.locale``)."""
    return Markdown(section_text(key, run.params.report.locale))


def title_text(run, month: str) -> str:
    """The report's title and its data line, in the run's language."""
    _ = tr(run)
    loc = run.params.report.locale
    title = _("{company}: cash collections, {month}").format(company=run.params.company,
                                                             month=fmt.month_name(month, locale=loc))
    data = _("Data as of {date}, {paths} simulated paths, seed {seed}.").format(
        date=f"**{fmt.date(run.as_of, locale=loc)}**", paths=fmt.number(run.sim.n_paths, locale=loc),
        seed=run.sim.seed)
    return f"# {title}\n\n{data}"
