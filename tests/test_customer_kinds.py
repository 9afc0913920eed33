"""Customer kinds on the messy company: public bodies and individuals get what the law and practice allow."""

from pathlib import Path

import pytest

from cashsim import legal
from cashsim.kpi import late_payment_claims
from cashsim.levers import CutOffThreat, Deposit, DirectDebit
from cashsim.levers.eligibility import EXCLUDED, eligible
from cashsim.params import load_params
from cashsim.pipeline import lever_book, prepare

MESSY = Path(__file__).parent / "data" / "messy" / "params.yml"


@pytest.fixture(scope="module")
def messy():
    base = prepare(load_params(MESSY))
    book = lever_book(base)
    kinds = base.ledger.customers.set_index("customer_id")["customer_type"]
    return base, book, kinds


def test_the_book_knows_each_customers_kind(messy):
    base, book, kinds = messy
    assert set(book.invoices["customer_type"]) == {"company", "public_body", "individual"}
    public = set(kinds[kinds == "public_body"].index)
    assert public and set(book.invoices.loc[book.invoices["customer_type"] == "public_body", "customer_id"]) <= public


@pytest.mark.parametrize("lever", [DirectDebit(adoption=1.0), DirectDebit(segments=["Collectivités", "PME"]),
                                   Deposit(share=0.3, lead_days=30), CutOffThreat(overdue_days=0)])
def test_public_bodies_are_never_offered_mandates_deposits_or_cutoff_threats(messy, lever):
    base, book, kinds = messy
    public = set(kinds[kinds == "public_body"].index)
    assert "public_body" in EXCLUDED[lever.kind]
    acted = set(lever.actions(book, base.model)["customer_id"].astype(str))
    assert acted and not acted & public
    changed = book.invoices.loc[lever.apply(book, base.model).invoices["profile"].to_numpy()
                                != book.invoices["profile"].to_numpy(), "customer_type"]
    assert "public_body" not in set(changed)


def test_a_book_without_kinds_is_all_eligible(messy):
    _, book, _ = messy
    assert eligible(book.invoices.drop(columns="customer_type"), "direct_debit").all()


def test_claims_follow_the_customer_kind(messy):
    base, _, kinds = messy
    claims = late_payment_claims(base.ledger, base.as_of)
    claims["kind"] = claims["customer_id"].map(kinds)
    ind, pub, com = (claims[claims["kind"] == k] for k in ("individual", "public_body", "company"))
    assert len(ind) and (ind["indemnity"] == 0).all() and (ind["interest"] == 0).all()
    assert len(pub) and (pub["indemnity"] == 40).all() and (com["indemnity"] == 40).all()
    b2b = legal.late_payment_interest(pub["amount"], pub["due_date"], base.as_of)
    assert pub["interest"].sum() < b2b.sum()        # 8 points instead of 10 (on the open remainders at least)


def test_public_rate_is_the_ecb_rate_of_the_starting_half_year_plus_8_points():
    # due 2025-06-25: interest starts in H1 2025 (MRO 3.15 %) and keeps that rate into H2 (2.15 %)
    got = legal.public_late_interest(36_500.0, "2025-06-25", "2025-07-25")[0]
    assert got == pytest.approx(36_500.0 * 0.1115 * 30 / 365)
    assert legal.late_interest_by_type([100.0], ["2025-01-01"], ["2025-02-01"], ["individual"])[0] == 0.0
    assert legal.indemnity_by_type(["company", "public_body", "individual"]).tolist() == [40.0, 40.0, 0.0]


def test_a_lever_that_changes_nothing_is_flagged_in_the_comparison(messy):
    from cashsim.compare import changes_nothing_text
    from cashsim.pipeline import study_levers

    base, _, _ = messy
    params = base.params
    scenarios = {"baseline": params.scenarios["baseline"], "escompte": params.scenarios["escompte"],
                 "acomptes_publics": [Deposit(share=0.3, lead_days=30, segments=["Collectivités"])]}
    study = study_levers(base.__class__(**{**base.__dict__, "params": params.model_copy(
        update={"scenarios": scenarios})}), n_paths=40, plan=False)
    flags = study.table.drop_duplicates("scenario").set_index("scenario")["changes_nothing"]
    assert flags.to_dict() == {"baseline": False, "escompte": False, "acomptes_publics": True}
    assert "'acomptes_publics' changes nothing on this company" in changes_nothing_text(study.table)


def test_the_scenario_panel_spares_public_bodies_as_the_lever_study_does(messy):
    """The panel's books carry what levers read (customer type, disputes, payment method) as the lever study's do:
    its cut-off threats and call list leave public bodies alone (its books had no customer type before: a public
    hospital was shown a suspension threat in the meeting)."""
    from cashsim.panel import ScenarioPanel

    base, book, kinds = messy
    panel = ScenarioPanel(MESSY, base=base, n_paths=100)
    public = set(kinds[kinds == "public_body"].index)
    for months in (base.params.horizon_months, 2):
        panel_book = panel.engine.base_book(months)
        assert set(panel_book.invoices["customer_type"]) == {"company", "public_body", "individual"}
        threatened = set(CutOffThreat(overdue_days=0).actions(panel_book, base.model)["customer_id"].astype(str))
        assert threatened and not threatened & public
    assert panel.engine.base_book(base.params.horizon_months).invoices.equals(lever_book(base, extra_days=0).invoices)
    panel.update(cutoff_days=60)                           # 0 is the control's "off"
    calls = panel.result.call_list
    on_public = calls["customer_id"].astype(str).isin(public).to_numpy()
    assert on_public.any() and calls.loc[~on_public, "proposal_action"].str.len().gt(0).any()
    assert not calls.loc[on_public, "proposal_action"].str.len().gt(0).any()
