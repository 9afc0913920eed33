"""Levers on hand-made books whose answer is known, a property test that no lever makes cash, and the params specs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cashsim import levers as lv
from cashsim.book import Book
from cashsim.errors import CashsimError, ParamsError

GRID = np.arange(-90, 366)
AS_OF = pd.Timestamp("2026-10-31")


def pmf_at(days: dict[int, float]) -> np.ndarray:
    """A pmf row with the given mass on the given days relative to due."""
    row = np.zeros(len(GRID))
    for d, p in days.items():
        row[d - GRID[0]] += p
    return row


def make_book(pmfs: list[np.ndarray], rows: list[dict], n_days: int = 500) -> Book:
    """A Book from pmf rows and invoice dicts (issue, due as offsets in days from as_of)."""
    inv = []
    for i, r in enumerate(rows):
        issue = AS_OF + pd.Timedelta(days=r.get("issue", -5))
        due = issue + pd.Timedelta(days=r.get("terms", 30))
        inv.append({
            "invoice_id": f"F{i:03d}", "customer_id": r.get("customer", f"C{i % 3}"),
            "segment": r.get("segment", "sme"), "is_future": r.get("issue", -5) > 0,
            "issue_date": issue, "due_date": due, "amount": float(r.get("amount", 1000.0)),
            "profile": r.get("profile", 0),
            "min_day": max(GRID[0], int(r.get("min_day", (AS_OF + pd.Timedelta(days=1) - due).days))),
            "calendar": 0, "upfront_amount": 0.0, "upfront_date": pd.NaT, "discount_rate": 0.0,
            "discount_day": np.nan})
    df = pd.DataFrame(inv)
    for c in ("issue_date", "due_date", "upfront_date"):
        df[c] = df[c].astype("datetime64[ns]")
    calendars = np.tile(np.arange(n_days), (1, 1))       # every day allowed
    return Book(as_of=AS_OF, grid=GRID, pmfs=np.vstack(pmfs), invoices=df, calendars=calendars)


def law(book: Book) -> np.ndarray:
    """Each invoice's pmf row."""
    return book.pmfs[book.invoices["profile"].to_numpy()]


# ------------------------------------------------------------------------------------- early-payment discount

def test_discount_taken_by_everyone_costs_exactly_its_rate_and_moves_payments_before_the_deadline():
    # future invoices, 30-day terms, paid on time (day 0) or late (day +20); a 2/10 offer taken by everyone
    book = make_book([pmf_at({0: 0.6, 20: 0.4})], [{"issue": 10 + i, "amount": 1000.0 * (i + 1)} for i in range(4)])
    lever = lv.EarlyPaymentDiscount(rate=0.02, deadline_days=10, take_up_on_time=1.0, take_up_late=1.0)
    after = lever.apply(book)
    # all mass now on the deadline, day 10 - 30 = -20 relative to due
    assert np.allclose(law(after)[:, -20 - GRID[0]], 1.0)
    assert np.allclose(law(after).sum(axis=1), 1.0)
    assert (after.invoices["discount_rate"] == 0.02).all()
    assert (after.invoices["discount_day"] == -20).all()
    eligible = book.invoices["amount"].sum()
    costs = lever.costs(book)
    assert costs["in_simulation"].all()
    assert costs["amount"].sum() == pytest.approx(0.02 * eligible, rel=1e-12)
    cash = lv.expected_collections(after)
    assert cash.sum() == pytest.approx(0.98 * eligible, rel=1e-12)
    assert cash.index.max() <= book.invoices["issue_date"].max() + pd.Timedelta(days=10)


def test_discount_take_up_by_class_and_deadweight():
    # mass: 0.2 before the deadline (deadweight), 0.5 between deadline and due, 0.3 late
    book = make_book([pmf_at({-25: 0.2, -5: 0.5, 15: 0.3})], [{"issue": 3}])
    lever = lv.EarlyPaymentDiscount(rate=0.02, deadline_days=10)  # 2/10 net 30: the reference terms, scale 1
    row = law(lever.apply(book))[0]
    assert row[-25 - GRID[0]] == pytest.approx(0.2)                          # deadweight: pays as before
    assert row[-20 - GRID[0]] == pytest.approx(0.5 * 0.3 + 0.3 * 0.1)         # movers
    assert row[-5 - GRID[0]] == pytest.approx(0.5 * 0.7)
    assert row[15 - GRID[0]] == pytest.approx(0.3 * 0.9)
    # expected discount: every invoice paid by the deadline, deadweight included
    assert lever.costs(book)["amount"].sum() == pytest.approx(0.02 * 1000 * (0.2 + 0.18))
    # a 1 % offer is half as attractive (18.4 % vs 37.2 % a year): half the take-up
    row1 = law(lv.EarlyPaymentDiscount(rate=0.01, deadline_days=10).apply(book))[0]
    assert row1[-20 - GRID[0]] == pytest.approx((0.5 * 0.3 + 0.3 * 0.1) * 0.01 / 0.99 / (0.02 / 0.98))


def test_discount_skips_invoices_whose_deadline_has_passed_and_respects_segments():
    book = make_book([pmf_at({0: 1.0})], [{"issue": -20}, {"issue": 2, "segment": "micro"}, {"issue": 2}])
    after = lv.EarlyPaymentDiscount(segments=["sme"]).apply(book)
    assert after.invoices["discount_rate"].tolist() == [0.0, 0.0, 0.02]


def test_annualised_rate():
    assert lv.annualised_discount_rate(0.02, 10, 30) == pytest.approx(0.02 / 0.98 * 365 / 20)
    assert lv.annualised_discount_rate(0.01, 10, 30) == pytest.approx(0.1843, abs=1e-4)


# ------------------------------------------------------------------------------------------------- financing

def test_factoring_80_percent_at_1_percent_brings_80_percent_now_and_costs_1_percent():
    book = make_book([pmf_at({5: 0.7, 40: 0.3})], [{"issue": -10, "amount": a} for a in (1000.0, 2500.0, 6500.0)])
    lever = lv.Financing(method="factoring", advance_rate=0.8, service_fee=0.01, margin=0.0, reference_rate=0.0)
    after = lever.apply(book)
    total = book.invoices["amount"].sum()
    assert after.invoices["upfront_amount"].sum() == pytest.approx(0.8 * total)
    assert (after.invoices["upfront_date"] == AS_OF + pd.Timedelta(days=1)).all()
    assert lever.costs(book)["amount"].sum() == pytest.approx(0.01 * total)
    assert after.invoices["amount"].sum() == pytest.approx(0.19 * total)      # the reserve, net of the fee
    assert np.array_equal(law(after), law(book))                               # no behaviour change
    assert lever.is_financing()


def test_financing_interest_and_minimum_fee():
    # paid exactly on day +20, funded tomorrow, due in 25 days: 45 days of interest at 2 % + 1.5 % on the advance
    book = make_book([pmf_at({20: 1.0})], [{"issue": -5, "amount": 10_000.0}])
    t = lv.Financing(method="factoring", service_fee=0.0).terms(book)
    assert t["days"].iloc[0] == pytest.approx(44)      # funded on as_of + 1, paid on as_of + 45
    assert t["fees"].iloc[0] == pytest.approx(9000 * 0.035 * 44 / 360)
    t_min = lv.Financing(method="factoring", minimum_fee=500.0).terms(book)
    assert t_min["fees"].sum() == pytest.approx(500.0)
    # discounting charges to the due date (24 days), not to the payment
    t_disc = lv.Financing(method="discounting", fee_per_invoice=0.0).terms(book)
    assert t_disc["days"].iloc[0] == pytest.approx(24)
    assert t_disc["advance"].iloc[0] == pytest.approx(10_000.0)


def test_recovery_transforms_stay_within_what_is_owed():
    rows = np.array([[0.2, 0.3, 0.0, 0.0], [0.5, 0.5, 0.0, 0.0]])
    out = lv.recover(rows, np.array([2, 2]), np.array([4, 4]), np.array([0.4, 0.4]))
    assert out[0].tolist() == pytest.approx([0.2, 0.3, 0.2, 0.2])
    assert out[1].tolist() == pytest.approx([0.5, 0.5, 0.0, 0.0])              # nothing was to be lost
    cut = lv.recover(rows[:1], np.array([3]), np.array([5]), np.array([0.4]))   # half the window past the grid
    assert cut[0].tolist() == pytest.approx([0.2, 0.3, 0.0, 0.2])
    back = lv.forfeit(out, np.array([2, 0]), np.array([0.4, 2.0]))
    assert back[0].tolist() == pytest.approx([0.2, 0.3, 0.0, 0.0]) and back[1].tolist() == [0.0] * 4
    capped = lv.cap_survival(np.array([[0.0, 0.2, 0.2, 0.4]]), np.array([[1.0, 1.0, 0.5, 0.0]]))
    assert capped.sum() == pytest.approx(0.8)
    assert np.all(np.cumsum(capped) >= np.cumsum([0.0, 0.2, 0.2, 0.4]) - 1e-12)


# ----------------------------------------------------------------------------------------------------- dunning

def geometric_row(h: float) -> np.ndarray:
    """Constant daily hazard h from day 1 on (given eventual payment), the tail at the grid end."""
    days = np.arange(1, 366)
    q = h * (1 - h) ** (days - 1)
    return pmf_at(dict(zip(days.tolist(), q.tolist(), strict=True))) + pmf_at({365: (1 - h) ** 365})


def test_dunning_plan_equal_to_current_changes_nothing_and_firmer_plan_is_a_hazard_ratio():
    row = 0.95 * geometric_row(0.05)                     # 5 % never paid
    book = make_book([row], [{"issue": 5}])
    current = [lv.DunningStep(day=1, channel="email")]
    same = lv.DunningPlan(steps=current).relative_to(current).apply(book)
    assert np.array_equal(law(same), law(book))
    firmer = lv.DunningPlan(steps=current + [lv.DunningStep(day=10, channel="phone", effect=1.0, effect_days=5)],
                            dispute_share_of_late=0.0).relative_to(current)
    new = law(firmer.apply(book))[0]
    assert new.sum() == pytest.approx(0.95)              # never-paid mass kept
    q = new / 0.95
    surv_before = 1 - np.concatenate([[0], np.cumsum(q)[:-1]])
    h = q / surv_before
    assert h[9 - GRID[0]] == pytest.approx(0.05)
    assert np.allclose(h[10 - GRID[0]:15 - GRID[0]], 0.10)
    assert h[15 - GRID[0]] == pytest.approx(0.05)
    # the new plan pays earlier in distribution (first-order dominance)
    assert np.all(np.cumsum(new) >= np.cumsum(row) - 1e-12)


def test_dunning_costs_are_net_of_the_current_plan():
    book = make_book([geometric_row(0.05)], [{"issue": 5}, {"issue": 6}])
    current = [lv.DunningStep(day=1, channel="email", cost=1.0, effect=0.0)]
    plan = lv.DunningPlan(steps=current + [lv.DunningStep(day=10, channel="phone", cost=8.0, effect=0.0)])
    costs = plan.relative_to(current).costs(book)
    # no effect: the phone step reaches the invoices unpaid on day 10: (1 - h)^9 each
    assert costs["amount"].sum() == pytest.approx(2 * 8.0 * 0.95 ** 9)


def test_pre_due_reminder_surfaces_disputes_earlier_but_leaves_open_disputes_alone():
    row = pmf_at({-2: 0.5, 20: 0.5})
    book = make_book([row], [{"issue": 5}, {"issue": 5}])
    inv = book.invoices.assign(disputed=[False, True])
    book = dataclasses.replace(book, invoices=inv)
    plan = lv.DunningPlan(steps=[lv.DunningStep(day=-7, channel="email", effect=0.0)], dispute_share_of_late=0.4)
    after = law(plan.relative_to([]).apply(book))
    assert after[0, 13 - GRID[0]] == pytest.approx(0.5 * 0.4)     # 40 % of the late mass, 7 days earlier
    assert after[0, 20 - GRID[0]] == pytest.approx(0.5 * 0.6)
    assert np.array_equal(after[1], row)                           # an open dispute: already raised


def test_a_formal_notice_recovers_part_of_the_never_paid_mass_and_dropping_it_forfeits_it():
    row = 0.8 * geometric_row(0.05)                     # 20 % never paid
    book = make_book([row], [{"issue": 5}])
    current = [lv.DunningStep(day=7, channel="email")]
    notice = lv.DunningStep(day=30, channel="formal_notice", effect=0.0)
    assert (notice.recovery, notice.recovery_window) == (0.25, (0, 21))
    firmer = law(lv.DunningPlan(steps=current + [notice], dispute_share_of_late=0.0).relative_to(current)
                 .apply(book))[0]
    assert firmer.sum() == pytest.approx(0.8 + 0.25 * 0.2)          # a quarter of the lost fifth recovered
    added = firmer - row
    assert np.allclose(added[30 - GRID[0]:51 - GRID[0]], 0.05 / 21) and abs(added).sum() == pytest.approx(0.05)
    # the plan without the current notice loses what it recovered, from the notice's day on
    softer = law(lv.DunningPlan(steps=current, dispute_share_of_late=0.0).relative_to(current + [notice])
                 .apply(book))[0]
    assert softer.sum() == pytest.approx(0.8 - 0.2 / 0.75 * 0.25)
    assert np.allclose(softer[:30 - GRID[0]], row[:30 - GRID[0]], rtol=1e-12, atol=1e-15)
    # the same notice moved earlier recovers nothing more (it is in the current plan already)
    moved = law(lv.DunningPlan(steps=current + [notice.model_copy(update={"day": 22})], dispute_share_of_late=0.0)
                .relative_to(current + [notice]).apply(book))[0]
    assert moved.sum() == pytest.approx(0.8)
    # litigation recovers half, from its order (36 days) on
    court = lv.DunningStep(day=80, channel="litigation", effect=0.0)
    sued = law(lv.DunningPlan(steps=current + [court], dispute_share_of_late=0.0).relative_to(current)
               .apply(book))[0]
    assert sued.sum() == pytest.approx(0.9)
    assert np.allclose(sued[:116 - GRID[0]], row[:116 - GRID[0]], rtol=1e-12, atol=1e-15)
    assert sued[116 - GRID[0]] > row[116 - GRID[0]]


def test_tone_and_the_manager_call_change_the_result():
    book = make_book([0.95 * geometric_row(0.03)], [{"issue": 5}])
    current = [lv.DunningStep(day=7, channel="email"), lv.DunningStep(day=15, channel="phone"),
               lv.DunningStep(day=30, channel="formal_notice")]
    plan = lv.DunningPlan(steps=current, dispute_share_of_late=0.0)
    friendly = lv.DunningStep(day=7, channel="email", tone="friendly")
    firm = lv.DunningStep(day=7, channel="email", tone="firm")
    assert (friendly.effect, friendly.relationship_risk) != (firm.effect, firm.relationship_risk)
    firm_plan = lv.escalate(plan, tone="firm").relative_to(current)
    assert [s.tone for s in firm_plan.steps] == ["firm", "firm", "formal"]
    base_row = law(book)[0]
    firm_row = law(firm_plan.apply(book))[0]
    assert not np.allclose(firm_row, base_row)
    assert np.all(np.cumsum(firm_row) >= np.cumsum(base_row) - 1e-12)          # firmer: paid earlier
    with_manager = lv.escalate(plan, up_to="manager_call").relative_to(current)
    assert "manager_call" in [s.channel for s in with_manager.steps]
    manager_row = law(with_manager.apply(book))[0]
    assert not np.allclose(manager_row, base_row)
    assert with_manager.costs(book)["amount"].sum() > 0 and with_manager.risk == "high"
    # a friendly tone is softer than the current firm phone call: paid later than with the current plan
    soft_row = law(lv.escalate(plan, tone="friendly").relative_to(current).apply(book))[0]
    assert np.all(np.cumsum(soft_row) <= np.cumsum(base_row) + 1e-12) and not np.allclose(soft_row, base_row)


def test_tone_is_validated_against_the_channel():
    with pytest.raises(ParamsError, match="channel 'formal_notice' has no tone 'friendly'; valid: formal"):
        lv.DunningStep(day=30, channel="formal_notice", tone="friendly")
    assert lv.DunningStep(day=3, channel="letter").cost == lv.DUNNING_DEFAULTS[("letter", "friendly")]["cost"]
    assert lv.CHANNEL_DEFAULTS["phone"]["tone"] == "firm"


@pytest.mark.parametrize("start", [
    [],
    [lv.DunningStep(day=7, channel="email"), lv.DunningStep(day=15, channel="phone"),
     lv.DunningStep(day=30, channel="formal_notice")],
    [lv.DunningStep(day=45, channel="formal_notice")],
    [lv.DunningStep(day=3, channel="sms"), lv.DunningStep(day=4, channel="litigation")],
])
def test_every_rung_of_the_ladder_is_reachable_from_any_plan(start):
    for rank, (rung, _) in enumerate(lv.LADDER):
        plan = lv.escalate(start, up_to=rung)
        channels = [s.channel for s in plan.steps]
        ranks = [lv.RUNG[c] for c in channels]
        assert set(range(rank + 1)) <= set(ranks)                    # an SMS holds the e-mail's rung
        assert all(s in plan.steps for s in start)                      # escalation never removes a step
        days = [s.day for s in plan.steps]
        assert days == sorted(days)
        assert ranks == sorted(ranks)                                   # never a milder rung after a firmer one
    assert lv.escalate(start, up_to="email", days_earlier=10).steps[0].day == min(
        [s.day for s in lv.escalate(start, up_to="email").steps]) - 10
    assert [s.channel for s in lv.truncate(lv.escalate(start, up_to="litigation"), "phone").steps] == [
        c for c in [s.channel for s in lv.escalate(start, up_to="litigation").steps] if lv.RUNG[c] <= 2]
    with pytest.raises(ParamsError, match="unknown rung 'fax'"):
        lv.escalate(start, up_to="fax")


def test_escalate_scales_an_explicit_effect_by_the_tone_ratio():
    calibrated = lv.DunningStep(day=7, channel="email", effect=0.6)
    (step,) = lv.escalate([calibrated], tone="firm").steps
    assert step.tone == "firm" and step.effect == pytest.approx(0.6 * 0.45 / 0.3)
    assert step.relationship_risk == lv.DUNNING_DEFAULTS[("email", "firm")]["relationship_risk"]


def test_unknown_channel_and_typo_rejected():
    with pytest.raises(ParamsError, match="channel"):
        lv.DunningStep(day=3, channel="pigeon")
    with pytest.raises(ParamsError, match="did you mean 'steps'"):
        lv.DunningPlan.model_validate({"kind": "dunning_plan", "stepz": []})


# ------------------------------------------------------------------------------------- deposit, debit, calls

def test_deposit_on_future_orders_only():
    book = make_book([pmf_at({0: 1.0})], [{"issue": -5}, {"issue": 45, "amount": 2000.0}, {"issue": 10}])
    after = lv.Deposit(share=0.3, lead_days=30, order_loss_rate=0.0).apply(book)
    inv = after.invoices
    assert inv["upfront_amount"].tolist() == pytest.approx([0.0, 600.0, 0.0])   # issue 10: ordered before as_of
    assert inv["amount"].tolist() == pytest.approx([1000.0, 1400.0, 1000.0])
    assert inv.loc[1, "upfront_date"] == AS_OF + pd.Timedelta(days=15)


def test_deposit_loses_a_share_of_the_orders_and_their_margin():
    book = make_book([pmf_at({0: 1.0})], [{"issue": 45, "amount": 2000.0}, {"issue": -5}])
    lever = lv.Deposit(share=0.3, lead_days=30, gross_margin=0.25)
    assert lever.loss_rate == pytest.approx(0.05) and lv.Deposit(share=0.15).loss_rate == pytest.approx(0.025)
    inv = lever.apply(book).invoices
    # 5 % of the order is lost; of the 1,900 kept, 30 % is the deposit
    assert inv.loc[0, "upfront_amount"] == pytest.approx(570.0) and inv.loc[0, "amount"] == pytest.approx(1330.0)
    assert lv.face_value(lever.apply(book)).sum() == pytest.approx(lv.face_value(book).sum() - 100.0)
    costs = lever.costs(book)
    assert costs["item"].unique().tolist() == ["expected lost margin (orders lost)"]
    assert costs["amount"].sum() == pytest.approx(2000.0 * 0.05 * 0.25)
    assert costs["month"].tolist() == [(AS_OF + pd.Timedelta(days=45)).strftime("%Y-%m")]


def test_direct_debit_pays_on_the_due_date_and_rejections_follow_later():
    row = pmf_at({10: 0.9})                               # 10 % never paid
    book = make_book([row, pmf_at({0: 1.0})], [{"issue": 5, "customer": "late"}, {"issue": 5, "customer": "ok",
                                                                                 "profile": 1}])
    lever = lv.DirectDebit(adoption=0.5, rejection_rate=0.05, reject_delay_days=(5, 10))
    assert lever.adopters(book) == ["late"]              # the latest payer first
    new = law(lever.apply(book))
    assert new[0, 0 - GRID[0]] == pytest.approx(0.95 * 0.9)
    assert new[0, 15 - GRID[0]:21 - GRID[0]] == pytest.approx(np.full(6, 0.05 * 0.9 / 6))
    assert new[0].sum() == pytest.approx(0.9)
    assert np.array_equal(new[1], pmf_at({0: 1.0}))
    assert lever.costs(book)["amount"].sum() == pytest.approx(0.4 + 0.05 * 15.0)


def test_dispute_resolution_within_the_service_level_on_a_hand_made_book():
    # three open disputes that would be paid 60 days after due; a resolved one; an undisputed invoice
    row = pmf_at({60: 0.9})
    rows = [{"issue": -40}, {"issue": -40}, {"issue": -40}, {"issue": -40}, {"issue": -40}]
    book = make_book([row], rows)                                   # due 10 days ago, min_day 11
    inv = book.invoices.assign(
        disputed=[True, True, True, True, False], dispute_type=["price", "technical", "other", "price", None],
        dispute_opened=[AS_OF - pd.Timedelta(days=1), AS_OF - pd.Timedelta(days=2), AS_OF - pd.Timedelta(days=30),
                        AS_OF - pd.Timedelta(days=20), pd.NaT],
        dispute_resolved=[pd.NaT, pd.NaT, pd.NaT, AS_OF - pd.Timedelta(days=3), pd.NaT])
    book = dataclasses.replace(book, invoices=inv)

    class Model:                                                    # paid exactly 4 days after the resolution
        post_resolution = np.eye(366)[4]

    lever = lv.DisputeResolution(hours_per_dispute=2.0, hourly_cost=50.0)
    after = law(lever.apply(book, Model()))
    due_ago = 10                                                   # as_of is 10 days after the due date
    # price: opened yesterday, 3 days -> resolved as_of + 2, paid 4 days later; technical: 7 days from 2 days ago
    assert after[0, due_ago + 2 + 4 - GRID[0]] == pytest.approx(0.9)
    assert after[1, due_ago + 5 + 4 - GRID[0]] == pytest.approx(0.9)
    # "other" is past its 10 days: cleared within 10 days from today
    assert after[2, due_ago + 10 + 4 - GRID[0]] == pytest.approx(0.9)
    assert np.array_equal(after[3], row) and np.array_equal(after[4], row)   # resolved / undisputed: untouched
    costs = lever.costs(book)
    assert costs["amount"].sum() == pytest.approx(3 * 2.0 * 50.0)
    acts = lever.actions(book)
    assert len(acts) == 3 and acts["action"].str.startswith("settle the").all()
    # without a model: the prior delay (median 7 days) after the deadline; never later than before
    prior = law(lever.apply(book))
    assert np.all(np.cumsum(prior[0]) >= np.cumsum(row) - 1e-12) and prior[0].sum() == pytest.approx(0.9)
    assert GRID[np.argmax(prior[0])] in range(due_ago + 2 + 4, due_ago + 2 + 10)
    # a longer service level resolves later; unknown types take "other"'s
    slow = law(lv.DisputeResolution(sla_days={"price": 20, "other": 10}).apply(book, Model()))
    assert slow[0, 19 + due_ago + 4 - GRID[0]] == pytest.approx(0.9)
    assert slow[1, due_ago + 8 + 4 - GRID[0]] == pytest.approx(0.9)


def test_payment_rebate_moves_late_payments_to_the_due_date_and_costs_the_rebate_on_time():
    book = make_book([pmf_at({-5: 0.4, 20: 0.6})], [{"issue": 10, "amount": 1000.0}, {"issue": -60}])
    lever = lv.PaymentRebate(rate=0.02, take_up_late=0.25)
    new = law(lever.apply(book))
    assert new[0, 0 - GRID[0]] == pytest.approx(0.6 * 0.25)
    assert new[0, 20 - GRID[0]] == pytest.approx(0.6 * 0.75) and new[0, -5 - GRID[0]] == pytest.approx(0.4)
    assert np.array_equal(new[1], law(book)[1])                  # already due: not eligible
    assert lever.costs(book)["amount"].sum() == pytest.approx(0.02 * 1000.0 * (0.4 + 0.15))
    assert lv.PaymentRebate(rate=0.01, take_up_late=0.25).take_up_share() == pytest.approx(0.125)
    grace = lv.PaymentRebate(rate=0.02, grace_days=20)
    assert np.array_equal(law(grace.apply(book))[0], law(book)[0])   # paid within the grace: on time already
    assert grace.risk == "none"


def test_promise_calls_largest_overdue_first():
    # three overdue customers (due 20 days ago), will pay on day +60
    rows = [{"issue": -50, "customer": c, "amount": a} for c, a in (("A", 500.0), ("B", 9000.0), ("C", 3000.0))]
    book = make_book([pmf_at({60: 1.0})], rows)
    lever = lv.PromiseCalls(n_calls=2, promise_rate=0.5, keep_rate=0.8, promise_days=7)
    assert lever.call_list(book)["customer_id"].tolist() == ["B", "C"]
    new = law(lever.apply(book))
    promised = 27 - GRID[0]                              # as_of + 7 is 27 days after a due date 20 days ago
    assert new[1, promised] == pytest.approx(0.4) and new[2, promised] == pytest.approx(0.4)
    assert new[0, promised] == 0.0
    assert lever.costs(book)["amount"].sum() == pytest.approx(2 * 15 / 60 * 45)

    class Model:
        promise_keep = pd.Series({"B": 1.0})
    assert law(lever.apply(book, Model()))[1, promised] == pytest.approx(0.5)


def test_cutoff_threat_acts_from_the_threshold_and_prices_churn():
    book = make_book([geometric_row(0.02)], [{"issue": -10, "customer": "X"}, {"issue": 20, "customer": "X",
                                                                                 "amount": 3000.0}])
    lever = lv.CutOffThreat(overdue_days=60, effect=1.0, effect_days=14, legal_cost=100.0, churn_probability=0.1,
                            lost_sales_months=12)
    new = law(lever.apply(book))[0]
    assert new.sum() == pytest.approx(1.0)            # everything is paid anyway: nothing to recover
    q = new / new.sum()
    h = q / (1 - np.concatenate([[0], np.cumsum(q)[:-1]]))
    assert h[60 - GRID[0]] == pytest.approx(0.02) and h[61 - GRID[0]] == pytest.approx(0.04)
    assert h[75 - GRID[0]] == pytest.approx(0.02)
    costs = lever.costs(book)
    by_item = costs.groupby("item")["amount"].sum()
    p_reach = 0.98 ** 60
    # the two invoices reach 61 days late in different months: one notice each
    assert by_item["legal notices (one per customer and month)"] == pytest.approx(2 * 100.0 * p_reach)
    p_cust = 1 - (1 - p_reach) ** 2
    assert by_item["expected lost margin (churn)"] == pytest.approx(p_cust * 3000.0 * 0.1 * 0.2 * 12)
    # the churn is booked in the months of the threats, half in each (equal chances of a notice)
    churn = costs[costs["item"] == "expected lost margin (churn)"]["amount"]
    assert len(churn) == 2 and churn.iloc[0] == pytest.approx(churn.iloc[1])


def test_cutoff_threat_recovers_part_of_what_would_be_lost_and_spares_defaulters_the_churn_provision():
    # customer X pays 90 % of its invoices (10 % never), customer Y only 20 %; both 70 days late today
    rows = [0.9 * geometric_row(0.05), 0.2 * geometric_row(0.05)]
    invoices = [{"issue": -100, "customer": "X", "profile": 0}, {"issue": -100, "customer": "Y", "profile": 1},
                {"issue": 10, "customer": "X", "profile": 0, "amount": 5000.0},
                {"issue": 10, "customer": "Y", "profile": 1, "amount": 5000.0}]
    book = make_book(rows, invoices)
    lever = lv.CutOffThreat(overdue_days=60, effect=0.0, recovery=0.3, recovery_days=21, legal_cost=0.0,
                            churn_probability=0.1)
    after = lever.apply(book)
    laws, inverse = lv.conditional_laws(after)
    before, inverse0 = lv.conditional_laws(book)
    p_before, p_after = before.sum(axis=1)[inverse0], laws.sum(axis=1)[inverse]
    # the open invoices: 30 % of the never-paid share recovered, within 21 days of today
    assert p_after[:2] == pytest.approx(p_before[:2] + 0.3 * (1 - p_before[:2]))
    added = laws[inverse[0]] - before[inverse0[0]]
    paid_days = GRID[added > 1e-12]
    assert paid_days.min() == 71 and paid_days.max() == 91          # from today (71 days late), for 21 days
    # expected cash rises, never beyond the face value
    assert lv.expected_collections(after).sum() > lv.expected_collections(book).sum()
    assert lv.expected_collections(after).sum() <= lv.face_value(book).sum()
    recovered, ever = lv.recovered_cash(book, after, pd.DatetimeIndex([AS_OF + pd.Timedelta(days=30)]))
    assert recovered[0] == pytest.approx(1000.0 * 0.3 * ((1 - p_before[0]) + (1 - p_before[1])))
    assert ever > recovered[0]                                      # the future invoices recover later
    # churn: each customer's provision is weighted by the chance its threatened invoices are paid at all
    def cdf(paid: float, d: int) -> float:                           # P(paid by day d), d >= 1
        return paid * (1 - 0.95 ** d)

    expected = 0.0
    for paid in (0.9, 0.2):
        p_open, pays_open = 1.0, (paid - cdf(paid, 70)) / (1 - cdf(paid, 70))      # threatened today
        p_fut, pays_fut = 1 - cdf(paid, 60), (paid - cdf(paid, 60)) / (1 - cdf(paid, 60))
        w = np.array([1000.0 * p_open, 5000.0 * p_fut])
        expected += np.average([pays_open, pays_fut], weights=w) * 5000.0 * 0.1 * 0.2 * 12
    churn = lever.costs(book).query("item == 'expected lost margin (churn)'")["amount"].sum()
    assert churn == pytest.approx(expected)
    assert churn < 0.1 * 0.2 * 12 * 5000.0 * 2 * 0.6                # far below the unweighted provision


def test_open_disputes_are_neither_threatened_nor_dunned_until_resolved():
    row = 0.9 * geometric_row(0.05)
    book = make_book([row], [{"issue": -100}, {"issue": -100}, {"issue": -100}])
    inv = book.invoices.assign(disputed=[False, True, True],
                               dispute_resolved=[pd.NaT, pd.NaT, AS_OF - pd.Timedelta(days=2)])
    book = dataclasses.replace(book, invoices=inv)
    threat = law(lv.CutOffThreat(overdue_days=60).apply(book))
    assert not np.array_equal(threat[0], row) and np.array_equal(threat[1], row)
    assert not np.array_equal(threat[2], row)                      # resolved: dunned again
    plan = lv.DunningPlan(steps=[lv.DunningStep(day=80, channel="formal_notice")]).relative_to([])
    dunned = law(plan.apply(book))
    assert np.array_equal(dunned[1], row) and not np.array_equal(dunned[0], row)
    assert not np.array_equal(dunned[2], row)
    # the formal notice on day 80 costs 25 EUR on the two invoices it reaches, if still unpaid then
    f70, f79 = 0.9 * (1 - 0.95 ** 70), 0.9 * (1 - 0.95 ** 79)
    assert plan.costs(book)["amount"].sum() == pytest.approx(2 * 25.0 * (1 - (f79 - f70) / (1 - f70)))


# ------------------------------------------------------------------------------- no lever makes cash appear

LEVER_STRATEGY = st.one_of(
    st.builds(lv.EarlyPaymentDiscount, rate=st.floats(0.005, 0.05), deadline_days=st.integers(0, 30),
              take_up_on_time=st.floats(0, 1), take_up_late=st.floats(0, 1)),
    st.builds(lv.DunningPlan, steps=st.lists(st.builds(lv.DunningStep, day=st.integers(-20, 90),
                                                       channel=st.sampled_from(list(lv.CHANNEL_DEFAULTS))),
                                             max_size=3),
              current=st.sampled_from([[lv.DunningStep(day=5, channel="email")],
                                       [lv.DunningStep(day=30, channel="formal_notice")]])),
    st.builds(lv.Deposit, share=st.floats(0.05, 1.0), lead_days=st.integers(0, 40),
              order_loss_rate=st.one_of(st.none(), st.floats(0, 0.3))),
    st.builds(lv.DirectDebit, adoption=st.floats(0, 1), rejection_rate=st.floats(0, 0.3)),
    st.builds(lv.PromiseCalls, n_calls=st.integers(0, 5), promise_rate=st.floats(0, 1)),
    st.builds(lv.CutOffThreat, overdue_days=st.integers(0, 120), effect=st.floats(0, 3), recovery=st.floats(0, 1),
              recovery_days=st.integers(1, 60)),
    st.builds(lv.Financing, method=st.sampled_from(["factoring", "dailly", "discounting"]),
              share=st.floats(0.1, 1.0), minimum_fee=st.floats(0, 200)),
    st.builds(lv.DisputeResolution, sla_days=st.dictionaries(st.sampled_from(["price", "other"]),
                                                             st.integers(0, 30))),
    st.builds(lv.PaymentRebate, rate=st.floats(0.001, 0.05), take_up_late=st.floats(0, 1),
              grace_days=st.integers(0, 10)),
)


@st.composite
def books(draw):
    n_profiles = draw(st.integers(1, 3))
    rows = []
    for _ in range(n_profiles):
        w = np.array(draw(st.lists(st.floats(0.01, 1.0), min_size=4, max_size=4)))
        days = draw(st.lists(st.integers(-30, 200), min_size=4, max_size=4, unique=True))
        paid = draw(st.floats(0.8, 1.0))
        rows.append(pmf_at(dict(zip(days, (w / w.sum() * paid).tolist(), strict=True))))
    invoices = [{"issue": draw(st.integers(-120, 60)), "terms": draw(st.sampled_from([0, 30, 45, 60])),
                 "amount": draw(st.floats(10.0, 1e5)), "profile": draw(st.integers(0, n_profiles - 1)),
                 "customer": draw(st.sampled_from(["A", "B", "C", "D"]))}
                for _ in range(draw(st.integers(1, 8)))]
    book = make_book(rows, invoices)
    # some open invoices in dispute (opened up to 60 days ago, of a type), some of those resolved
    n = len(invoices)
    disputed = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n))) & ~book.invoices["is_future"]
    opened = [AS_OF - pd.Timedelta(days=draw(st.integers(0, 60))) for _ in range(n)]
    resolved = [AS_OF if draw(st.booleans()) else pd.NaT for _ in range(n)]
    inv = book.invoices.assign(
        disputed=disputed, dispute_type=[draw(st.sampled_from(["price", "technical", "other"])) for _ in range(n)],
        dispute_opened=pd.Series(opened).where(disputed.to_numpy()).astype("datetime64[ns]").to_numpy(),
        dispute_resolved=pd.Series(resolved).where(disputed.to_numpy()).astype("datetime64[ns]").to_numpy())
    return dataclasses.replace(book, invoices=inv)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(book=books(), levers=st.lists(LEVER_STRATEGY, min_size=1, max_size=3))
def test_no_lever_creates_cash(book, levers):
    after, costs = lv.apply_levers(book, levers)
    fees = costs.loc[~costs["in_simulation"].astype(bool) & costs["item"].str.contains("fees and interest"),
                     "amount"].sum()
    # face value: what was collectable + financing fees is what is collectable now, less the orders a deposit lost
    assert lv.face_value(after).sum() + fees <= lv.face_value(book).sum() * (1 + 1e-12) + 1e-6
    if not any(isinstance(lever, lv.Deposit) for lever in levers):
        assert lv.face_value(after).sum() + fees == pytest.approx(lv.face_value(book).sum(), rel=1e-9, abs=1e-6)
    assert (after.invoices["amount"] >= -1e-9).all() and (after.invoices["upfront_amount"] >= 0).all()
    # laws: never more than certain payment; recovery only moves never-paid mass back (cash the customer owes)
    sums_before, sums_after = law(book).sum(axis=1), law(after).sum(axis=1)
    assert (sums_after <= 1 + 1e-9).all() and (law(after) >= -1e-15).all()
    timing_only = np.allclose(sums_after, sums_before, rtol=0.0, atol=1e-13)
    assert ((after.invoices["discount_rate"] >= 0) & (after.invoices["discount_rate"] < 1)).all()
    # expected cash + discounts never exceed what the book could bring
    inv = after.invoices
    laws, inverse = lv.conditional_laws(after)
    cdf = np.cumsum(laws, axis=1)[inverse]
    dday = np.nan_to_num(inv["discount_day"].to_numpy(float), nan=GRID[0] - 1).astype(int) - GRID[0]
    p_disc = np.where(dday >= 0, cdf[np.arange(len(inv)), np.clip(dday, 0, len(GRID) - 1)], 0.0)
    discounts = (inv["amount"] * inv["discount_rate"] * p_disc).sum()
    before_cash = lv.expected_collections(book).sum()
    # timing levers move cash, never add to it; a deposit or an advance is certain cash, so it also removes the
    # never-paid risk of its part (still bounded by the face value, below)
    if timing_only and not any(isinstance(lever, lv.Financing | lv.Deposit) for lever in levers):
        assert lv.expected_collections(after).sum() + discounts == pytest.approx(before_cash, rel=1e-9, abs=1e-6)
    assert lv.expected_collections(after).sum() + discounts + fees <= lv.face_value(book).sum() * (1 + 1e-9)


def test_levers_are_pure():
    book = make_book([pmf_at({0: 0.5, 30: 0.5})], [{"issue": 5}, {"issue": -50}])
    pmfs, inv = book.pmfs.copy(), book.invoices.copy()
    for lever in (lv.EarlyPaymentDiscount(), lv.Financing(), lv.Deposit(), lv.DirectDebit(adoption=1.0),
                  lv.PromiseCalls(), lv.CutOffThreat(), lv.DunningPlan(steps=[{"day": -3, "channel": "sms"}]),
                  lv.DisputeResolution(), lv.PaymentRebate()):
        lever.apply(book)
        assert np.array_equal(book.pmfs, pmfs)
        pd.testing.assert_frame_equal(book.invoices, inv)


def test_new_rows_are_deduplicated():
    # two terms (30, 45 days): two distinct deadlines relative to the due date
    book = make_book([pmf_at({0: 0.5, 30: 0.5})], [{"issue": 5 + i % 3, "terms": 30 + 15 * (i % 2)}
                                                   for i in range(50)])
    after = lv.EarlyPaymentDiscount(take_up_late=0.2).apply(book)
    assert after.pmfs.shape[0] == 1 + 2          # one new row per distinct deadline, not per invoice
    assert len(after.invoices) == 50


# ------------------------------------------------------------------------------------ dunning log estimation

class _Ledger:
    def __init__(self, invoices, payments, dunning):
        self.invoices, self.payments, self.dunning = invoices, payments, dunning


def dunning_world(rng, n, h=0.03, g=1.0, t0=20, k=7) -> _Ledger:
    """Invoices due on issue with a constant daily hazard h, (1 + g) h for k days after a reminder on day t0."""
    day = np.arange(1, 200)
    hz = np.where((day > t0) & (day <= t0 + k), h * (1 + g), h)
    u = rng.random((n, len(day))) < hz
    paid_day = np.where(u.any(axis=1), day[u.argmax(axis=1)], 0)
    issue = pd.Timestamp("2025-01-01")
    ids = np.array([f"I{i}" for i in range(n)])
    payments = pd.DataFrame({"invoice_id": ids, "payment_date": issue + pd.to_timedelta(paid_day, unit="D"),
                             "amount": 100.0})[paid_day > 0]
    sent = (paid_day == 0) | (paid_day > t0)
    dunning = pd.DataFrame({"invoice_id": ids[sent], "action_date": issue + pd.Timedelta(days=t0), "level": 1,
                            "channel": "email"})
    return _Ledger(pd.DataFrame({"invoice_id": ids, "amount": 100.0, "due_date": issue}), payments, dunning)


def test_dunning_effect_intervals_cover_the_truth():
    rng = np.random.default_rng(5)
    truth = np.log1p(-0.06) / np.log1p(-0.03) - 1
    hits = [lv.estimate_dunning_effects(dunning_world(rng, 3000)).iloc[0] for _ in range(40)]
    cover = np.mean([r["ci_low"] < truth < r["ci_high"] for r in hits])
    assert 0.85 <= cover <= 1.0                      # nominal 95 %
    assert np.mean([r["effect"] for r in hits]) == pytest.approx(truth, abs=0.06)


def test_estimate_dunning_effects_recovers_a_known_hazard_ratio():
    rng = np.random.default_rng(3)
    n, h, g, t0, k = 20_000, 0.03, 1.0, 20, 7
    # constant hazard h per day after issue, (1 + g) h for k days after a reminder on day t0 (if still unpaid)
    day = np.arange(1, 200)
    hz = np.where((day > t0) & (day <= t0 + k), h * (1 + g), h)
    u = rng.random((n, len(day))) < hz
    paid_day = np.where(u.any(axis=1), day[u.argmax(axis=1)], 0)
    issue = pd.Timestamp("2025-01-01")
    ids = [f"I{i}" for i in range(n)]
    invoices = pd.DataFrame({"invoice_id": ids, "amount": 100.0, "due_date": issue})
    payments = pd.DataFrame({"invoice_id": ids, "payment_date": issue + pd.to_timedelta(paid_day, unit="D"),
                             "amount": 100.0})[paid_day > 0]
    sent = (paid_day == 0) | (paid_day > t0)
    dunning = pd.DataFrame({"invoice_id": np.array(ids)[sent], "action_date": issue + pd.Timedelta(days=t0),
                            "level": 1, "channel": "email"})

    class Ledger:
        pass
    ledger = Ledger()
    ledger.invoices, ledger.payments, ledger.dunning = invoices, payments, dunning
    est = lv.estimate_dunning_effects(ledger, window_days=k).iloc[0]
    # the daily hazard doubles: log(1 - 2h) / log(1 - h) - 1 = 1.03 for h = 3 % (g = 1 in the small-h limit)
    truth = np.log1p(-h * (1 + g)) / np.log1p(-h) - 1
    assert est["effect"] == pytest.approx(truth, abs=0.12)
    assert est["ci_low"] < truth < est["ci_high"]
    assert est["reliable"] and est["day"] == t0
    assert est["p_before"] == pytest.approx(1 - (1 - h) ** k, abs=0.01)


# ------------------------------------------------------------------------------------------- the params file

def test_params_scenarios_are_typed_and_typos_name_the_key():
    from cashsim.params import parse_params

    p = parse_params({"scenarios": {"baseline": [{"kind": "dunning_plan", "steps": [{"day": 5, "channel": "email"}]}],
                                    "discount": [{"kind": "early_payment_discount", "rate": 0.015}]}})
    assert isinstance(p.scenarios["discount"][0], lv.EarlyPaymentDiscount)
    assert p.scenarios["baseline"][0].steps[0].effect == 0.3
    with pytest.raises(ParamsError, match="deadline_days"):
        parse_params({"scenarios": {"x": [{"kind": "early_payment_discount", "deadline_dayz": 10}]}})
    with pytest.raises(ParamsError, match="early_payment_discount"):
        parse_params({"scenarios": {"x": [{"kind": "early_discount"}]}})


def test_building_a_lever_with_bad_values_raises_a_params_error_naming_the_lever_and_the_field():
    with pytest.raises(ParamsError, match=r"^lever 'early_payment_discount', field 'rate': .*less than 0.2 \(got 5\)$"):
        lv.EarlyPaymentDiscount(rate=5)
    with pytest.raises(ParamsError, match=r"^unknown key 'rat' for lever 'early_payment_discount'; did you mean"):
        lv.EarlyPaymentDiscount(rat=0.01)
    with pytest.raises(ParamsError) as err:
        lv.Financing(method="bogus", share=2)
    assert str(err.value).splitlines() == [
        "lever 'financing', field 'method': Input should be 'factoring', 'dailly' or 'discounting' (got 'bogus')",
        "lever 'financing', field 'share': Input should be less than or equal to 1 (got 2)"]
    with pytest.raises(ParamsError, match=r"lever 'dunning_plan', field 'steps\.0\.day': .*365 \(got 1000\)"):
        lv.DunningPlan(steps=[{"day": 1000, "channel": "sms"}])
    with pytest.raises(ParamsError, match=r"^dunning step: unknown key 'efect'; did you mean 'effect'\?"):
        lv.DunningStep(day=3, channel="email", efect=0.5)
    with pytest.raises(ParamsError, match=r"^lever 'deposit', field 'share'"):
        lv.Deposit.model_validate({"kind": "deposit", "share": 0})
    with pytest.raises(ParamsError, match=r"^lever 'dispute_resolution', field 'sla_days\.price'"):
        lv.DisputeResolution(sla_days={"price": -3})
    with pytest.raises(ParamsError, match=r"^lever 'payment_rebate', field 'rate'"):
        lv.PaymentRebate(rate=0.5)
    with pytest.raises(ParamsError, match=r"^lever 'cutoff_threat', field 'recovery'"):
        lv.CutOffThreat(recovery=1.5)
    with pytest.raises(ParamsError, match=r"^dunning step: recovery_window must be"):
        lv.DunningStep(day=30, channel="formal_notice", recovery_window=(10, 5))
    assert issubclass(ParamsError, CashsimError)


def test_a_params_file_still_names_the_file_and_the_dotted_key_of_a_bad_lever_value():
    # nested specs are validated by Params without the levers' own __init__: the params messages are unchanged
    from cashsim.params import parse_params

    with pytest.raises(ParamsError) as err:
        parse_params({"scenarios": {"x": [{"kind": "early_payment_discount", "rate": 5},
                                          {"kind": "dunning_plan", "steps": [{"day": 3, "channel": "pigeon"}]}]}},
                     source="company.yml")
    lines = str(err.value).splitlines()
    assert lines[:2] == ["company.yml: invalid parameters",
                         "  scenarios.x.0.early_payment_discount.rate: Input should be less than 0.2 (got 5)"]
    assert lines[2].startswith("  scenarios.x.1.dunning_plan.steps.0.channel: Input should be 'email'")


def test_demo_params_scenarios_load():
    from pathlib import Path

    from cashsim.params import dump_params, load_params, parse_params

    p = load_params(Path(__file__).resolve().parents[1] / "params" / "demo.yml")
    assert "baseline" in p.scenarios and len(p.scenarios) >= 3
    kinds = {lever.kind for levers in p.scenarios.values() for lever in levers}
    assert {"dispute_resolution", "payment_rebate", "cutoff_threat", "deposit"} <= kinds
    channels = {s.channel for levers in p.scenarios.values() for lever in levers if lever.kind == "dunning_plan"
                for s in lever.steps}
    assert {"letter", "manager_call", "sales_rep", "litigation"} <= channels
    import yaml
    again = parse_params(yaml.safe_load(dump_params(p)))
    assert again.scenarios == p.scenarios


def recovery_world(rng, n=20_000, treated_share=0.5, recovery=0.4, never=0.2, day=30) -> _Ledger:
    """Invoices due on issue, paid on a day uniform in 1..120 unless never paid (``never``); half of those unpaid on
    ``day`` get a formal notice, which turns a share ``recovery`` of the never-payers into payers within 20 days."""
    issue = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 200, n), unit="D")
    pay = rng.integers(1, 121, n).astype(float)
    lost = rng.random(n) < never
    noticed = ((pay > day) | lost) & (rng.random(n) < treated_share)
    saved = lost & noticed & (rng.random(n) < recovery)
    pay = np.where(lost & ~saved, np.nan, np.where(saved, day + rng.integers(1, 21, n), pay))
    ids = np.array([f"I{i}" for i in range(n)])
    paid = ~np.isnan(pay)
    payments = pd.DataFrame({"invoice_id": ids[paid], "payment_date": issue[paid] + pd.to_timedelta(pay[paid],
                                                                                                   unit="D"),
                             "amount": 100.0})
    payments = pd.concat([payments, pd.DataFrame({"invoice_id": ["end"], "payment_date": [pd.Timestamp("2025-12-31")],
                                                  "amount": [0.0]})])
    dunning = pd.DataFrame({"invoice_id": ids[noticed], "action_date": issue[noticed] + pd.Timedelta(days=day),
                            "level": 3, "channel": "formal_notice"})
    return _Ledger(pd.DataFrame({"invoice_id": ids, "amount": 100.0, "due_date": issue}), payments, dunning)


def test_estimate_recovery_finds_a_known_recovery_and_is_silent_without_controls():
    rng = np.random.default_rng(8)
    est = lv.estimate_recovery(recovery_world(rng), horizon_days=90).iloc[0]
    assert est["channel"] == "formal_notice" and est["day"] == 30
    assert est["recovery"] == pytest.approx(0.4, abs=0.08)
    assert est["ci_low"] < 0.4 < est["ci_high"] and est["reliable"]
    everyone = lv.estimate_recovery(recovery_world(rng, treated_share=1.0), horizon_days=90).iloc[0]
    assert everyone["n_control"] == 0 and not everyone["reliable"]
    nothing = lv.estimate_recovery(recovery_world(rng, recovery=0.0), horizon_days=90).iloc[0]
    assert not nothing["reliable"]


def test_calibrate_dunning_uses_reliable_estimates_and_keeps_explicit_effects():
    est = pd.DataFrame({"level": [1, 2], "channel": ["email", "phone"], "day": [7, 15], "n_actions": [500, 10],
                        "p_before": 0.2, "p_after": 0.3, "ratio": [1.5, 3.0], "effect": [0.5, 2.0],
                        "ci_low": [0.3, 0.5], "ci_high": [0.7, 4.0], "reliable": [True, False]})
    plan = lv.DunningPlan(steps=[lv.DunningStep(day=3, channel="email"), lv.DunningStep(day=10, channel="phone"),
                                 lv.DunningStep(day=20, channel="email", effect=0.1)],
                          current=[lv.DunningStep(day=7, channel="email")])
    out = lv.calibrate_dunning([plan, lv.Deposit()], est)
    assert [s.effect for s in out[0].steps] == [0.5, 0.6, 0.1]       # estimate, default (unreliable), explicit
    assert out[0].current[0].effect == 0.5 and out[1] == lv.Deposit()
    assert lv.calibrate_dunning([plan], pd.DataFrame()) == [plan]
    # a firm e-mail takes the estimate times the firm tone's relative strength; recovery from its own estimate
    firm = lv.DunningPlan(steps=[lv.DunningStep(day=3, channel="email", tone="firm"),
                                 lv.DunningStep(day=30, channel="formal_notice"),
                                 lv.DunningStep(day=40, channel="formal_notice", recovery=0.1)])
    rec = pd.DataFrame({"level": [3], "channel": ["formal_notice"], "day": [30], "n_treated": [400],
                        "n_control": [300], "p_treated": 0.9, "p_control": 0.8, "recovery": [0.5], "ci_low": [0.3],
                        "ci_high": [0.7], "reliable": [True]})
    out = lv.calibrate_dunning([firm], est, rec)[0]
    assert out.steps[0].effect == pytest.approx(0.5 * 0.45 / 0.3)
    assert [s.recovery for s in out.steps] == [0.0, 0.5, 0.1]
    assert lv.calibrate_dunning([firm], pd.DataFrame(), rec)[0].steps[1].recovery == 0.5


def test_annotate_book_and_dispute_share():
    book = make_book([pmf_at({0: 1.0})], [{"issue": -5}, {"issue": 3}])
    open_book = pd.DataFrame({"invoice_id": ["F000"], "disputed": [True], "payment_method": ["direct_debit"]})
    inv = lv.annotate_book(book, open_book).invoices
    assert inv["disputed"].tolist() == [True, False]
    assert inv["payment_method"].tolist() == ["direct_debit", "transfer"]
    dated = open_book.assign(dispute_type=[None], dispute_opened=[AS_OF - pd.Timedelta(days=4)],
                             dispute_resolved=[pd.NaT])
    inv = lv.annotate_book(book, dated).invoices
    assert inv["dispute_type"].tolist()[0] == "other" and pd.isna(inv["dispute_type"].iloc[1])
    assert inv["dispute_opened"].iloc[0] == AS_OF - pd.Timedelta(days=4) and inv["dispute_resolved"].isna().all()
    # a direct-debit payer is left alone by the direct-debit lever
    after = lv.DirectDebit(customers=["C0", "C1"], setup_days=0).apply(lv.annotate_book(book, open_book))
    assert np.array_equal(law(after)[0], pmf_at({0: 1.0})) and after.invoices["profile"].iloc[0] == 0
    status = pd.DataFrame({"status": ["paid", "paid", "paid", "overdue"], "days_late": [5, 10, -2, np.nan],
                           "amount": [100.0, 300.0, 50.0, 70.0], "disputed": [True, False, True, True]})
    assert lv.dispute_share_of_late(status) == pytest.approx(0.25)


def test_derived_book_is_the_replaced_one_and_checks_only_what_it_adds():
    book = make_book([pmf_at({5: 0.9}), pmf_at({20: 0.5})], [{"profile": 0}, {"profile": 1, "amount": 300.0}])
    inv = book.invoices.copy()
    inv["profile"] = [1, 2]
    inv["amount"] = [100, 200]                                   # integers: normalised to floats as on construction
    added = pmf_at({40: 0.7})[None, :]
    derived = book.derive(inv, added)
    replaced = dataclasses.replace(book, invoices=inv, pmfs=np.vstack([book.pmfs, added]))
    pd.testing.assert_frame_equal(derived.invoices, replaced.invoices)
    assert np.array_equal(derived.pmfs, replaced.pmfs) and np.array_equal(derived.calendars, replaced.calendars)
    assert derived.as_of == replaced.as_of and np.array_equal(derived.grid, replaced.grid)
    assert book.derive(book.invoices).pmfs is book.pmfs                # nothing added: the same rows, not a copy
    with pytest.raises(CashsimError, match="row 3 sums to 1.4"):     # rows counted from the book's first row
        book.derive(inv, np.vstack([added, pmf_at({3: 0.7, 9: 0.7})]))
    with pytest.raises(CashsimError, match="row 2 has a negative"):
        book.derive(inv, -added)
    inv.loc[1, "profile"] = 5
    with pytest.raises(CashsimError, match="column profile"):
        book.derive(inv, added)


def test_derive_checks_again_only_the_columns_a_lever_changed():
    """Book.derive neither converts nor checks again the columns the new table shares with the book's (a lever's
    shallow copy): the same table as checking every column, and a changed column is still checked."""
    from cashsim.book import _kept_columns, _normalise_invoices

    book = make_book([pmf_at({5: 0.9}), pmf_at({20: 0.5})], [{"profile": 0}, {"profile": 1, "amount": 300.0}])
    inv = book.invoices.copy(deep=False)
    inv["profile"] = np.array([1, 2])
    inv["discount_rate"] = [0.02, 0.0]
    inv["discount_day"] = [10.0, np.nan]
    kept = _kept_columns(inv, book.invoices)
    assert {"invoice_id", "customer_id", "due_date", "amount", "min_day", "upfront_date"} <= kept
    assert not kept & {"profile", "discount_rate", "discount_day"}
    assert not _kept_columns(book.invoices.copy(deep=True), book.invoices)       # a deep copy: new arrays
    added = pmf_at({40: 0.7})[None, :]
    derived = book.derive(inv, added)
    pd.testing.assert_frame_equal(derived.invoices, _normalise_invoices(inv, 3, book.grid), check_exact=True)
    with pytest.raises(CashsimError, match="column discount_day"):
        book.derive(inv.assign(discount_day=[np.nan, np.nan]), added)
    with pytest.raises(CashsimError, match="column amount"):
        book.derive(inv.assign(amount=[np.inf, 1.0]), added)
    with pytest.raises(CashsimError, match="column profile"):
        book.derive(inv.assign(profile=[0, 3]), added)


def test_derived_books_share_their_rows_until_read_whole_and_simulate_as_gathered():
    """A derived book keeps its parent's pmf rows and the added ones as blocks: ``pmf_rows`` reads any rows from
    them, ``pmfs`` gathers them once (numpy.vstack of the blocks), a pickled book comes back the same, and the
    engine prepares the very same tables from the rows its invoices use as from the whole array."""
    import pickle

    from cashsim.simulate import simulate
    from cashsim.simulate.tables import _prepare

    book = make_book([pmf_at({5: 0.9}), pmf_at({20: 0.5}), pmf_at({-3: 1.0})],
                     [{"profile": 0}, {"profile": 1, "amount": 300.0}, {"profile": 2, "amount": 50.0}])
    one = book.derive(book.invoices.assign(profile=[3, 1, 2]), pmf_at({40: 0.7})[None, :])
    two = one.derive(one.invoices.assign(profile=[3, 4, 1]), np.vstack([pmf_at({2: 0.2}), pmf_at({60: 0.4})]))
    assert one.rows.parts[0] is book.pmfs and two.rows.parts[:2] == one.rows.parts      # shared, not copied
    shared = (book.rows.shared_rows(two.rows), one.rows.shared_rows(two.rows), two.rows.shared_rows(one.rows))
    assert shared == (3, 4, 4)
    other = book.derive(book.invoices, pmf_at({40: 0.7})[None, :])       # the same values, another block
    assert other.rows.shared_rows(one.rows) == 3 and two.rows.shared_rows(two.rows) == 6
    assert "pmfs" not in two.__dict__ and two.n_profiles == 6
    whole = np.vstack([book.pmfs, pmf_at({40: 0.7})[None, :], pmf_at({2: 0.2}), pmf_at({60: 0.4})])
    index = np.array([5, 0, 3, 3, 4])
    assert np.array_equal(two.pmf_rows(index), whole[index])
    with pytest.raises(IndexError):
        two.pmf_rows(np.array([6]))
    horizon = AS_OF + pd.Timedelta(days=200)
    lazy, _ = _prepare(two, horizon, 0.1, 0.1, None)        # from rows 1, 3, 4 only, read from the blocks
    assert "pmfs" not in two.__dict__                        # the preparation did not gather the rows
    back = pickle.loads(pickle.dumps(two))
    assert "pmfs" not in back.__dict__ and np.array_equal(back.pmfs, whole)
    assert np.array_equal(two.pmfs, whole) and two.pmfs is two.pmfs and "pmfs" in two.__dict__   # gathered once
    built = Book(as_of=two.as_of, grid=two.grid, pmfs=whole, invoices=two.invoices, calendars=two.calendars)
    full, _ = _prepare(built, horizon, 0.1, 0.1, None)      # the same book built whole: the same tables
    for f in dataclasses.fields(full):
        a, b = getattr(lazy, f.name), getattr(full, f.name)
        assert np.array_equal(a, b) and np.asarray(a).dtype == np.asarray(b).dtype, f.name
    kw = {"horizon_end": horizon, "n_paths": 200, "seed": 3, "rho_month": 0.1, "rho_customer": 0.1}
    assert np.array_equal(simulate(back, **kw).daily, simulate(two, **kw).daily)


def test_shift_days_by_one_number_of_days_sums_as_numpy_add_at_does():
    rng = np.random.default_rng(7)
    for _ in range(300):
        n, width = int(rng.integers(1, 12)), int(rng.integers(1, 40))
        rows = rng.random((n, width)) * (rng.random((n, width)) < 0.7)
        rows[rng.random((n, width)) < 0.2] = -0.0               # signed zeros too: 0.0 + -0.0 is 0.0
        days = np.full(n, int(rng.integers(-33, 34)))
        target = np.clip(np.arange(width)[None, :] + days[:, None], 0, width - 1)
        expected = np.zeros_like(rows)
        np.add.at(expected, (np.repeat(np.arange(n), width), target.ravel()), rows.ravel())
        got = lv.shift_days(rows, days)
        assert np.array_equal(got, expected) and np.array_equal(np.signbit(got), np.signbit(expected))


def test_shift_days_by_row_and_floor_sums_as_numpy_add_at_does():
    """shift_days with days per row (and a floor) gives numpy.add.at's sums bit for bit (same order, from 0.0)."""
    rng = np.random.default_rng(8)
    for _ in range(300):
        n, width = int(rng.integers(1, 12)), int(rng.integers(2, 60))
        rows = rng.random((n, width)) * (rng.random((n, width)) < 0.7)
        rows[rng.random((n, width)) < 0.2] = -0.0
        days = rng.integers(-40, 41, n)
        floor = rng.integers(0, width, n) if rng.random() < 0.5 else None
        target = np.clip(np.arange(width)[None, :] + days[:, None], 0, width - 1)
        if floor is not None:
            target = np.maximum(target, floor[:, None])
        expected = np.zeros_like(rows)
        np.add.at(expected, (np.repeat(np.arange(n), width), target.ravel()), rows.ravel())
        got = lv.shift_days(rows, days, floor_idx=floor)
        assert got.dtype == expected.dtype and np.array_equal(got.view(np.uint64), expected.view(np.uint64))


def test_month_labels_are_strftime_s():
    """_month (each month of the dates' span formatted once) gives DatetimeIndex.strftime's labels, NaT included,
    for arrays, Series and indexes, short or long, within a few months or over centuries."""
    from cashsim.levers._book import _month

    rng = np.random.default_rng(9)
    start = np.datetime64("2026-10-31", "ns")
    for n, spread in [(5, 40), (40, 3), (3000, 400), (500, 40_000), (200, 90_000)]:
        dates = start + (rng.integers(-spread, spread, n) * 86_400 * 10**9).astype("timedelta64[ns]")
        dates[rng.random(n) < 0.1] = np.datetime64("NaT")
        want = pd.DatetimeIndex(dates).strftime("%Y-%m").to_numpy()
        for passed in (dates, pd.Series(dates), pd.DatetimeIndex(dates)):
            got = _month(passed)
            assert got.dtype == want.dtype and pd.isna(got).tolist() == pd.isna(want).tolist()
            assert got[~pd.isna(got)].tolist() == want[~pd.isna(want)].tolist()


def _p_paid_from(book: Book, sel: np.ndarray, day_idx: np.ndarray) -> np.ndarray:
    """The reference: per invoice of ``sel``, P(paid at all | still unpaid on the morning of grid position
    ``day_idx``), on the law given ``min_day`` (1 when it surely is unpaid), from its own table of laws."""
    from cashsim.levers._book import conditional_laws

    laws, inverse = conditional_laws(book, sel)
    cum = np.concatenate([np.zeros((laws.shape[0], 1)), np.cumsum(laws, axis=1)], axis=1)
    unpaid = 1.0 - cum[inverse, day_idx]
    return np.divide(cum[inverse, -1] - cum[inverse, day_idx], unpaid, out=np.ones(len(sel)), where=unpaid > 1e-12)


def test_unpaid_and_paid_from_one_table_are_the_two_functions_numbers():
    """_p_unpaid_and_paid_from (one table of laws, one cumulative sum) gives _p_unpaid_at's numbers and those of
    the reference _p_paid_from above, bit for bit (what the cut-off threat's costs read of the same invoices and
    days)."""
    from cashsim.levers._book import _p_unpaid_and_paid_from, _p_unpaid_at

    rng = np.random.default_rng(10)
    pmfs = [pmf_at({int(d): float(p) for d, p in zip(rng.integers(-20, 200, 4), rng.dirichlet(np.ones(4)) * 0.9,
                                                      strict=True)}) for _ in range(6)]
    rows = [{"profile": int(rng.integers(0, 6)), "issue": int(rng.integers(-150, 30)),
             "amount": float(rng.uniform(100, 5000))} for _ in range(60)]
    book = make_book(pmfs, rows)
    for _ in range(20):
        sel = np.sort(rng.choice(60, int(rng.integers(1, 60)), replace=False))
        day_idx = rng.integers(0, len(GRID), len(sel))
        unpaid, paid_from = _p_unpaid_and_paid_from(book, sel, day_idx)
        assert np.array_equal(unpaid.view(np.uint64), _p_unpaid_at(book, sel, day_idx).view(np.uint64))
        assert np.array_equal(paid_from.view(np.uint64), _p_paid_from(book, sel, day_idx).view(np.uint64))
    with pytest.raises(IndexError):
        _p_unpaid_and_paid_from(book, sel, np.full(len(sel), len(GRID)))


def test_cost_frame_sums_by_month_as_a_dataframe_groupby_does():
    """_cost_frame (a Series grouped by month, the frame built at once) gives the frame the DataFrame groupby and
    column inserts gave: the same sums, months, dtypes and order, zero months and NaN months left out."""
    from cashsim.levers._book import _cost_frame, _month

    def reference(lever, months, item, amounts, in_sim=False):
        df = pd.DataFrame({"month": months, "amount": amounts}).groupby("month", as_index=False)["amount"].sum()
        df.insert(0, "lever", lever)
        df.insert(2, "item", item)
        df["in_simulation"] = in_sim
        return df[df["amount"] != 0].reset_index(drop=True)

    rng = np.random.default_rng(5)
    for trial in range(60):
        n = int(rng.integers(0, 200))
        dates = pd.Series(AS_OF + pd.to_timedelta(rng.integers(-40, 200, n), "D"))
        if trial % 3 == 0:
            dates[rng.random(n) < 0.2] = pd.NaT
        months = _month(dates) if trial % 2 else _month(dates).astype(str)
        amounts = rng.random(n) * 10.0 ** rng.integers(0, 6) * np.where(rng.random(n) < 0.3, 0.0, 1.0)
        for in_sim in (False, True):
            pd.testing.assert_frame_equal(_cost_frame("x", months, "y", amounts, in_sim),
                                          reference("x", months, "y", amounts, in_sim), check_exact=True)
