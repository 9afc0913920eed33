"""The report on the messy company (tests/data/messy) says why a table is empty or all zero, in one sentence of the
reader's language, instead of a table of dashes or zeros: no shortfall when the target is met on every path, no
promise to pay in the ledger (and how to give them), no customer reaching the reliability threshold. Each sentence
shows only when its condition holds."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from cashsim import kpi, report, targets
from cashsim.report.texts import Markdown, Sentence

MESSY = Path(__file__).resolve().parent / "data" / "messy" / "params.yml"
MONTH = "2026-11"


@pytest.fixture(scope="module")
def run():
    return report.load_run(MESSY, n_paths=40)


def _in(run, locale: str):
    """The run read in another language (its numbers unchanged)."""
    params = run.params.model_copy(update={"report": run.params.report.model_copy(update={"locale": locale})})
    keep = ("ledger", "as_of", "model", "sim", "targets", "base", "customer_labels")
    return SimpleNamespace(**{k: getattr(run, k) for k in keep}, params=params)


def test_no_shortfall_is_one_sentence_not_a_table_of_dashes(run):
    every = kpi.customer_shortfall(run.sim, run.targets, run.customer_labels)
    p_short = every.groupby(every["month"].astype(str))["p_shortfall"].max()
    assert p_short[MONTH] == 0  # the condition: no path of the month misses its target
    said = report.views.shortfall_view(run, MONTH)
    assert isinstance(said, Sentence)     # as promises_view's sentence: a paragraph on the print page too
    assert said.to_html().startswith('<p class="cashsim-note">Novembre 2026')
    assert said._repr_markdown_() == ("Novembre 2026\u00a0: l’objectif est atteint sur toutes les trajectoires, "
                                      "aucun manque à expliquer.")
    assert report.views.shortfall_view(_in(run, "en_GB"), MONTH).text == (
        "November 2026: the target is met on every path, so there is no shortfall to explain.")
    missed = p_short.index[p_short > 0][-1]   # a month missed on some paths keeps its table
    table = report.views.shortfall_view(run, missed)
    assert not isinstance(table, Markdown) and len(table.data) > 0 and "manqué sur" in table.to_html()


def test_no_promise_is_one_sentence_saying_how_to_record_them(run):
    assert run.ledger.promises.empty and run.params.data.promises is None
    said = report.accounts.promises_view(run)
    assert isinstance(said, Sentence)
    text = said._repr_markdown_()
    assert text.startswith("Le grand livre n’enregistre aucune promesse de règlement\u00a0: rien à suivre ici.")
    for name in ("data.promises", "invoice_id", "made_date", "promised_date", "amount", "data.mapping.promises"):
        assert f"`{name}`" in text, name
    page = said.to_html()      # the print summary puts it where the table was (handouts.print_html)
    assert page.startswith('<p class="cashsim-note">') and "<code>data.promises</code>" in page
    assert "`" not in page and "0\u00a0€" not in page
    assert report.accounts.promises_view(_in(run, "en_GB")).text.startswith(
        "The ledger records no promise to pay, so there is none to follow up.")


def test_the_split_says_no_customer_reaches_the_reliability_threshold(run):
    assert not run.model.customers["reliable"].any() and run.params.behaviour.reliable_threshold == 0.8
    split = report.split_table(run).set_index("quadrant")
    assert (split.loc[["not_due_reliable", "overdue_reliable"], ["n_invoices", "amount"]] == 0).all().all()
    said = ("Aucun client n’atteint le seuil de fiabilité de 80\u00a0% (la probabilité de payer au plus 5 jours "
            "après l’échéance\u00a0; behaviour.reliable_threshold dans les paramètres)\u00a0: toutes les factures "
            "ouvertes comptent parmi les payeurs moins fiables.")
    assert report.accounts.no_reliable_payer(run) == said
    assert "Aucun client n’atteint le seuil de fiabilité de 80" in report.accounts.split_view(run).to_html()
    assert report.accounts.no_reliable_payer(_in(run, "en_GB")).startswith(
        "No customer reaches the reliability threshold of 80% (the chance of paying at most 5 days after")
    # one reliable customer: the rows are no longer zero by rule, and nothing is said
    cust = run.model.customers
    some = SimpleNamespace(**vars(_in(run, "fr_FR")))
    some.model = SimpleNamespace(customers=cust.assign(reliable=cust["reliability"] >= cust["reliability"].max()))
    assert report.accounts.no_reliable_payer(some) is None
    assert "seuil de fiabilité" not in report.accounts.split_view(some).to_html()


def test_the_views_errors_are_translated_from_their_msgid(run):
    """``report_month`` and ``shortfall_view`` raise ``ReportError.of`` like the runner: the message reads in French
    from its template and values (it used to be an English f-string the command line could not translate)."""
    from cashsim import i18n
    from cashsim.errors import ReportError

    french = i18n.translator("fr_FR").gettext
    with pytest.raises(ReportError, match="outside the forecast horizon") as outside:
        report.views.report_month(run, "2027-05")
    assert outside.value.translated(french) == (
        "le mois 2027-05 sort de l’horizon 2026-11..2027-02 d’une prévision au 2026-10-31\u00a0: choisissez un mois "
        "de cet horizon, ou changez as_of / horizon_months dans le fichier de paramètres")
    whole = SimpleNamespace(**{**vars(_in(run, "fr_FR")), "customer_labels": None})
    with pytest.raises(ReportError, match="not simulated per customer") as flat:
        report.views.shortfall_view(whole, MONTH)
    assert flat.value.translated(french) == (
        "la simulation n’a pas été faite client par client\u00a0: utilisez report.load_run ou by_customer=True")


def test_the_call_list_says_why_its_promise_columns_are_zero_or_a_dash(run):
    """The call list by account showed 0 promises and a dash for the keep rate without a word: its caption now says
    the ledger records no promise (messy company), or, when some are recorded, what a dash means."""
    import dataclasses

    import pandas as pd

    table = report.accounts.accounts_view(run)
    assert table.data["promesses en attente"].eq(0).all() and table.data["promesses tenues"].isna().all()
    assert ("Le grand livre n’enregistre aucune promesse de règlement\u00a0: les colonnes des promesses sont à zéro"
            in table.to_html())
    assert "pas de taux de promesses tenues (la section" in table.caption and "explique comment" in table.caption
    assert report.accounts.accounts_view(_in(run, "en_GB")).caption.startswith(
        "The ledger records no promise to pay: the promise columns are zero and there is no keep rate")
    status = run.ledger.status(run.as_of)
    first = report.accounts.accounts_table(run)["customer_id"].iloc[0]   # an account of the call list
    paid = status.loc[status["paid_date"].notna() & (status["customer_id"] == first)].iloc[0]
    promise = pd.DataFrame({"invoice_id": [paid["invoice_id"]], "made_date": [paid["paid_date"] - pd.Timedelta(days=9)],
                            "promised_date": [paid["paid_date"]], "amount": [float(paid["amount"])]})
    promised = SimpleNamespace(**{**vars(_in(run, "fr_FR")),
                                  "ledger": dataclasses.replace(run.ledger, promises=promise)})
    accounts = report.accounts.accounts_table(promised)
    assert accounts["keep_rate"].notna().sum() == 1          # the one customer with a promise past its deadline
    html = report.accounts.accounts_view(promised).to_html()
    assert "Un tiret sous «\u00a0promesses tenues\u00a0»\u00a0: le compte n’a aucune promesse" in html
    assert "aucune promesse de règlement" not in html
    assert report.accounts.promises_note(promised, accounts.loc[accounts["keep_rate"].notna()]) is None


def test_the_call_lists_say_the_ledger_records_no_dunning(run):
    """An invoice 579 days late showed "première relance par e-mail" as its next step without a word: the messy
    ledger records no dunning action, which the call lists now say; a ledger that records one does not get it."""
    import dataclasses

    import pandas as pd

    said = ("Le grand livre n’enregistre aucune relance\u00a0: la prochaine action d’une facture échue part de la "
            "première relance, quel que soit son retard")
    assert run.ledger.dunning.empty
    by_invoice = report.ledger_views.call_list_view(run)
    assert "579" in set(by_invoice.data["jours de retard"]) and said in by_invoice.to_html()
    by_account = report.accounts.accounts_view(run).to_html()
    assert said in by_account and "aucune promesse de règlement" in by_account      # both sentences
    assert report.ledger_views.call_list_view(_in(run, "en_GB")).caption.startswith(
        "The ledger records no dunning action: the next step of an overdue invoice starts from the first reminder")
    late = by_invoice.data.iloc[0]
    dunned = pd.DataFrame({"invoice_id": [late["facture"]], "action_date": [run.as_of - pd.Timedelta(days=3)],
                           "level": [1]}).astype({"level": run.ledger.dunning["level"].dtype})
    recorded = SimpleNamespace(**{**vars(_in(run, "fr_FR")),
                                  "ledger": dataclasses.replace(run.ledger, dunning=dunned)})
    assert said not in report.ledger_views.call_list_view(recorded).to_html()
    assert said not in report.accounts.accounts_view(recorded).to_html()


def test_the_aged_balance_chart_speaks_french(run):
    """Its legend showed kpi's keys (``not_due``, ``>90``) and the customers without a client group as ``all``."""
    fig = report.figures.aged_figure(run)
    assert [t.name for t in fig.data] == ["non échu", "1 à 30 jours", "31 à 60 jours", "61 à 90 jours",
                                          "plus de 90 jours"]
    assert "sans famille de clients" in fig.data[0].x and "all" not in fig.data[0].x
    assert all("not_due" not in (t.hovertemplate or "") for t in fig.data)


def test_a_target_of_zero_says_why_where_it_shows(run):
    """The messy company's quarter Oct-Dec requires 513 000 EUR; October alone collected 375 039 EUR, more than
    Oct + Nov require (342 000), so November's smoothed target is 0, and December's on most paths: the window table,
    the month's answer and the months table say why in one sentence, with those figures."""
    months = report.views.forecast_months(run).set_index("month")
    assert months.loc["2026-11", "target_p50"] == 0 and months.loc["2026-11", "required"] == 171_000
    said = report.views.zero_target_texts(run)
    assert len(said) == 1 and said[0].startswith("Objectif à 0\u00a0€ en novembre 2026, décembre 2026\u00a0:")
    assert "exige 513\u202f000\u00a0€ jusqu’à décembre 2026" in said[0] or "exige 513\u00a0000\u00a0€" in said[0]
    assert "375\u202f039\u00a0€ (octobre 2026)" in said[0] or "375\u00a0039\u00a0€ (octobre 2026)" in said[0]
    assert "la fenêtre de lissage (de octobre 2026 à décembre 2026)" in said[0]
    assert said[0].endswith("n’est pas reporté sur la fenêtre suivante.")
    assert said[0] in report.window.window_html(run).replace("&#x27;", "'")
    answer = report.views.answer_html(run, MONTH)
    assert "a déjà encaissé" in answer and "jusqu’à novembre 2026" in answer
    assert "a déjà encaissé" not in report.views.answer_html(run, "2027-01")   # January's target is not 0
    assert report.views.months_view(run).caption.startswith("Objectif à 0")
    assert report.views.zero_target_texts(_in(run, "en_GB"))[0].startswith("Target €0 in November 2026")


def test_the_weekly_plan_starts_the_day_after_as_of(run):
    """The weekly plan starts from the opening cash at as_of: the week of 26 Oct 2026 holds only Sunday 1 Nov after
    the as_of date, where nothing moves, so it is not shown (it was a row of 0 EUR), and the caption says so."""
    weekly = run.targets.weekly
    assert str(weekly["week_start"].iloc[0].date()) == "2026-10-26"      # the plan's own first week
    view = report.views.weekly_view(run)
    assert str(view.data.iloc[0, 0].date()) == "2026-11-02"
    assert "La semaine du 26 oct. 2026, sans aucun mouvement après le 31 oct. 2026, n’est pas affichée." in view.caption
    assert "ne compte que les jours qui suivent." in view.caption
    assert "Aucune trésorerie d’ouverture n’est renseignée" in view.caption        # the messy params give none
    cut, dropped = targets.plan_weeks(weekly.assign(collections_mean=weekly["collections_mean"] + 1.0),
                                      run.as_of)                        # a first week where cash moves
    assert dropped is None and str(cut["week_start"].iloc[0].date()) == "2026-11-01" and len(cut) == len(weekly)


def test_an_invoice_not_yet_due_reads_due_in_n_days_not_a_negative_lateness(run):
    """The call list by invoice keeps invoices of less reliable payers a few days before their due date: their
    days overdue (-11) read "à échoir dans 11 j", on the due date "échoit ce jour", late ones their days."""
    from cashsim import kpi

    days = kpi.call_list(run.ledger, run.as_of).head(25)["days_overdue"]
    assert (days < 0).any() and (days == 0).any() and (days > 0).any()      # the three cases are in the list
    shown = report.ledger_views.call_list_view(run).data["jours de retard"].tolist()
    expected = [f"à échoir dans {-d} j" if d < 0 else "échoit ce jour" if d == 0 else f"{d}" for d in days]
    assert shown == expected and not any(str(x).startswith("-") for x in shown)
    english = report.ledger_views.call_list_view(_in(run, "en_GB")).data["days overdue"].tolist()
    assert "due in 11 d" in english and "due today" in english


def test_the_workbook_call_lists_carry_the_pages_sentences(run, tmp_path):
    """The messy ledger records no promise and no dunning: the page's call list says both; the workbook's call-list
    sheets (the whole list and each owner's actions) carry the same sentences below their table."""
    from openpyxl import load_workbook

    from cashsim import export

    sheets = report.handouts.workbook_sheets(run, None)
    calls = [n for n in sheets if n == "Liste d’appels" or (n.startswith("Actions ") and n != "Actions du plan")]
    assert "Liste d’appels" in calls and len(calls) >= 2
    page = report.accounts.accounts_view(run).caption
    book = load_workbook(export.write_xlsx(sheets, tmp_path / "plan.xlsx"), read_only=True)
    for name in calls:
        notes = sheets[name].attrs["notes"]
        assert len(notes) == 2 and notes[0].startswith("Le grand livre n’enregistre aucune promesse de règlement")
        assert notes[1].startswith("Le grand livre n’enregistre aucune relance") and " ".join(notes) == page
        rows = list(book[name].iter_rows(values_only=True))
        assert rows[len(sheets[name]) + 1][0] is None                       # a blank row under the table
        assert [r[0] for r in rows[len(sheets[name]) + 2:]] == notes        # then the sentences, column A
    assert not sheets["Répartition des créances"].attrs.get("notes")


def test_the_plans_figures_say_they_come_from_the_lever_study(run):
    """The plan's table and the window's "with the plan" come from the lever study (a book holding the sales plan
    two months further, other random streams), the window's "without the plan" from the forecast: in a month where
    the plan has no lever they differ by noise (the messy company's February, 86 % / 88 % on 300 paths), and the
    plan's expected shortfall is the one left with the plan. The captions and column names say so."""
    table, plan = report.levers(run)
    frame = report.window.window_frame(run, plan)
    study_base = plan.months.set_index(plan.months["month"].astype(str))["p_target_met_baseline"]
    assert (frame["p_target_met"].to_numpy() != study_base.reindex(frame["month"]).to_numpy()).any()  # other draws
    screen = report.window.window_html(run, plan)
    assert "proviennent de l’étude des leviers" in screen and "que par le bruit de simulation" in screen
    assert "étude des leviers" not in report.window.window_html(run)                  # no plan, no such note
    view = report.lever_views.plan_view(plan, run)
    assert view.caption.startswith("Chiffres de l’étude des leviers, sur 40\u00a0trajectoires simulées") or \
        view.caption.startswith("Chiffres de l’étude des leviers, sur 40 trajectoires simulées")
    heads = list(view.data.columns)
    assert "P(atteint) sans levier (étude des leviers)" in heads and "manque attendu avec le plan" in heads
    levers = list(report.lever_views.levers_view(table, MONTH, run).data.columns)
    assert {"encaissement supplémentaire du mois", "coût à date", "coût par euro à date", "récupéré à date",
            "avancé à date"} <= set(levers)


def test_the_first_actions_are_steps_to_take_with_the_amount_they_are_about(run):
    """The first screen's actions never list an account with nothing to do, and an account with nothing overdue
    whose step is a courtesy call before the due date shows the invoices coming due, not the 0 € it has overdue."""
    accounts = report.accounts.accounts_table(run)
    calls = kpi.call_list(run.ledger, run.as_of, reliability=run.model.customers)
    courtesy = accounts.loc[(accounts["overdue"] == 0) & (accounts["action_amount"] > 0)]
    idle = accounts.loc[accounts["action_amount"] == 0]
    assert len(courtesy) and len(idle)        # the messy company has both: the conditions this test is about
    for r in courtesy.itertuples():
        assert r.action_amount == calls.loc[calls["customer_id"] == r.customer_id, "outstanding"].sum() > 0
        assert r.next_action.startswith("relance préventive")
    assert set(idle["next_action"]) == {"aucune action\u00a0: rien d’échu"}
    shown = report.window.top_actions(run, None, n=len(accounts))
    assert len(shown) == len(accounts) - len(idle) and (shown["amount"] > 0).all()
    assert "aucune action\u00a0: rien d’échu" not in set(shown["action"])
    by_name = accounts.set_index("customer_name")["action_amount"]
    assert (shown["amount"].to_numpy() == by_name[shown["customer"]].to_numpy()).all()


def test_no_sales_plan_is_said_on_the_first_screen_and_by_cashsim_targets(run, tmp_path, capsys):
    """Without a sales plan the later months read near 0 and look out of reach: the first screen and `cashsim
    targets` say why (only the invoices already issued are counted, with their number and amount as `cashsim
    validate` counts them), in the reader's language; with a plan, neither says it."""
    import yaml

    from cashsim.cli import main

    screen = report.window_html(run)
    assert "cashsim-no-sales-plan" not in screen and "plan de ventes" not in screen.split("</table>")[1][:400]
    bare = run.params.model_copy(update={"sales_plan": []})
    keep = ("ledger", "as_of", "model", "sim", "targets", "base", "customer_labels")
    planless = SimpleNamespace(**{k: getattr(run, k) for k in keep}, params=bare)
    head = run.ledger.summary(run.as_of)
    said = report.views.no_sales_plan_text(planless)
    assert said.startswith("Aucun plan de ventes dans les paramètres (clé sales_plan)\u00a0: la prévision ne "
                           "compte que les factures déjà émises (")
    assert f"ouvertes au 31 oct. 2026, {fmt_money(head['open_amount'])})" in said
    assert str(head["open_invoices"]) in said
    assert f'<p class="cashsim-no-sales-plan">{said}</p>' in report.window_html(planless)
    assert report.views.no_sales_plan_text(planless, "en_GB").startswith(
        "No sales plan in the parameters (key sales_plan): the forecast counts only the invoices already issued")
    # the command: the messy params without their plan, its files named absolutely
    doc = yaml.safe_load(MESSY.read_text(encoding="utf-8"))
    doc.pop("sales_plan")
    for key in ("invoices", "payments", "customers"):
        doc["data"][key] = str(MESSY.parent / doc["data"][key])
    bare_file = tmp_path / "sans-plan.yml"
    bare_file.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    assert main(["targets", "--params", str(bare_file), "--paths", "40"]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith("Ajoutez les ventes mensuelles prévues par famille de clients (voir params/demo.yml).")
    assert main(["targets", "--params", str(MESSY), "--paths", "40"]) == 0
    assert "Aucun plan de ventes" not in capsys.readouterr().out


def fmt_money(x: float) -> str:
    from cashsim import fmt

    return fmt.money(x, locale="fr_FR", decimals=0)


def test_a_plan_without_lever_says_why(run):
    """An empty recommended plan reads "no lever needed" only when the forecast meets the target without one; when
    it does not, the first screen and the month's answer say whether the parameters gave the search no lever to try
    or none of those tried brings the target closer (a burn the company cannot cover)."""
    import dataclasses

    from cashsim import pipeline
    from cashsim.report.lever_views import plan_summary

    burn = run.params.burn.model_copy(update={"salaries_and_social": 400_000})
    said = {}
    for case, scenarios in (("none", {}), ("tried", run.params.scenarios)):
        params = run.params.model_copy(update={"scenarios": scenarios, "burn": burn})
        plan = pipeline.study_levers(dataclasses.replace(run.base, params=params), n_paths=100, plan_paths=100).plan
        assert not plan.levers and not plan.meets_target
        assert (plan.levers_tried == 0) == (case == "none")
        view = SimpleNamespace(**{k: getattr(run, k) for k in ("ledger", "as_of", "model", "sim", "targets", "base",
                                                               "customer_labels")}, params=params)
        said[case] = (report.window_html(view, plan), report.views.answer_html(view, MONTH, plan_summary(plan, MONTH)))
    for page in said["none"]:
        assert ("aucun levier à essayer\u00a0: les paramètres ne définissent aucun scénario de leviers (clé "
                "scenarios)") in page and "aucun levier nécessaire" not in page
    for page in said["tried"]:
        assert "aucun des leviers essayés ne rapproche de l’objectif\u00a0: pratique actuelle" in page
        assert "aucun levier nécessaire" not in page
    params = run.params.model_copy(update={"scenarios": {}})     # its own burn: met without any lever
    met = pipeline.study_levers(dataclasses.replace(run.base, params=params), n_paths=100, plan_paths=100).plan
    assert met.meets_target and not met.levers and met.levers_tried == 0
    assert "Plan recommandé\u00a0: aucun levier nécessaire" in report.window_html(run, met)
