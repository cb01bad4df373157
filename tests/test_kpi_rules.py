"""Task-result points from the work plan (app/rules/kpi.py) at their edges: no items, every item
excused, errors beyond four, fractional weights, a late item with an objective cause, rounding, and
the Decree 335 formulas."""

from __future__ import annotations

import pytest

from app.rules import kpi

STAFF = [
    {"code": "I.1", "group": "I", "max": 20},
    {"code": "II.1", "group": "II", "max": 25, "source": "plan:quantity"},
    {"code": "II.2", "group": "II", "max": 25, "source": "plan:quality"},
    {"code": "II.3", "group": "II", "max": 20, "source": "plan:timeliness"},
]


def item(weight=1, done=True, delays=0, errors=0, cause=None, confirmed=False, **kw):
    return dict(
        kw,
        weight=weight,
        done=done,
        delays=delays,
        major_errors=errors,
        objective_cause=cause,
        objective_confirmed=confirmed,
    )


def test_no_items_falls_back_to_typed():
    assert kpi.measures([]) is None
    out = kpi.compute([], STAFF)
    assert out["criteria"] == {} and out["fallback"] == "no_counted_items" and out["quantity"] is None


def test_every_item_excused_leaves_nothing_to_count():
    items = [item(done=False, cause="Mưa bão", confirmed=True), item(weight=2, done=False, cause="Ốm", confirmed=True)]
    assert kpi.measures(items) is None
    assert kpi.compute(items, STAFF)["fallback"] == "no_counted_items"


def test_unconfirmed_cause_changes_nothing():
    items = [item(done=False, cause="Mưa bão"), item()]
    found = kpi.measures(items)
    assert found["quantity"] == 0.5 and found["counted"] == 2 and found["excused"] == 0


def test_all_done_cleanly_gives_every_point():
    out = kpi.compute([item(), item(weight=3)], STAFF)
    assert (out["quantity"], out["quality"], out["timeliness"]) == (100.0, 100.0, 100.0)
    assert out["criteria"] == {"II.1": 25.0, "II.2": 25.0, "II.3": 20.0} and out["weight"] == 4


def test_errors_beyond_four_stop_at_zero():
    found = kpi.measures([item(errors=4), item(errors=7, delays=9)])
    assert found["quality"] == 0 and found["timeliness"] == 0.5 and found["quantity"] == 1


@pytest.mark.parametrize("errors, quality", [(0, 1), (1, 0.75), (2, 0.5), (3, 0.25), (4, 0), (5, 0)])
def test_each_major_error_costs_a_quarter(errors, quality):
    assert kpi.measures([item(errors=errors)])["quality"] == quality


def test_fractional_weights():
    items = [item(weight=0.5), item(weight=1.5, done=False), item(weight=2, errors=1, delays=2)]
    found = kpi.measures(items)
    assert found["quantity"] == pytest.approx(2.5 / 4)
    assert found["quality"] == pytest.approx((0.5 + 2 * 0.75) / 4)
    assert found["timeliness"] == pytest.approx((0.5 + 2 * 0.5) / 4)
    assert found["weight"] == 4


def test_zero_or_negative_weight_never_counts():
    assert kpi.measures([item(weight=0), item(weight=-1)]) is None


def test_late_item_with_objective_cause():
    late = item(delays=2, errors=1, cause="Chờ ý kiến của Bộ")
    assert kpi.measures([late])["timeliness"] == 0.5  # not confirmed yet: deductions stand
    assert kpi.measures([dict(late, objective_confirmed=True)]) == {
        "quantity": 1,
        "quality": 1,
        "timeliness": 1,
        "weight": 1,
        "counted": 1,
        "excused": 0,
    }


def test_not_done_with_confirmed_cause_leaves_the_count():
    found = kpi.measures([item(), item(done=False, cause="Điều động đi công tác", confirmed=True)])
    assert found["quantity"] == 1 and found["counted"] == 1 and found["excused"] == 1


def test_points_round_to_hundredths():
    # 2 of 3 items: 25 × 2/3 = 16.666… → 16.67; quality 1/3 lost one error: 25 × (1 + 0.75)/3 = 14.583… → 14.58
    out = kpi.compute([item(), item(errors=1), item(done=False)], STAFF)
    assert out["criteria"] == {"II.1": 16.67, "II.2": 14.58, "II.3": 13.33}
    assert out["quantity"] == 66.67 and out["quality"] == 58.33


def test_plan_all_is_the_mean_of_the_three():
    leader = [{"code": "II.1", "group": "II", "max": 30, "source": "plan:all"}]
    # quantity 1, quality 0.75, timeliness 0.5 → mean 0.75 → 22.5
    assert kpi.compute([item(errors=1, delays=2)], leader)["criteria"] == {"II.1": 22.5}


def test_typed_criteria_are_never_computed():
    assert "I.1" not in kpi.compute([item()], STAFF)["criteria"]
    assert kpi.compute([item()], [{"code": "II.1", "max": 25}])["criteria"] == {}


def test_decree_335_staff_formula_matches_scheme_data():
    criteria = [{"code": c, "max": m, "source": "plan:all"} for c, m in (("II.1", 30), ("II.2", 25), ("II.3", 15))]
    items = [item(errors=1), item(delays=1), item(done=False)]
    found = kpi.measures(items)
    expected = kpi.nd335_staff(found["quantity"], found["quality"], found["timeliness"])
    points = kpi.criterion_points(criteria, found)
    assert sum(points.values()) == pytest.approx(expected, abs=0.02)
    assert kpi.nd335_staff(1, 1, 1) == 70 and kpi.nd335_staff(0.5, 0.5, 0.5) == 35


def test_decree_335_leader_formula_and_unit_results():
    assert kpi.unit_results(["A", "B", "C", None]) == 1.0
    assert kpi.unit_results(["A", "D"]) == 0.5
    assert kpi.nd335_leader(1, 1, 1, 0.5, 1) == 63.0
    components = ["plan:quantity", "plan:quality", "plan:timeliness", "unit_results", "capacity"]
    criteria = [
        {"code": "II.1", "max": 30, "source": components},
        {"code": "II.2", "max": 25, "source": components},
        {"code": "II.3", "max": 15, "source": components},
    ]
    points = kpi.criterion_points(criteria, kpi.measures([item()]), {"unit_results": 0.5, "capacity": 1})
    assert sum(points.values()) == pytest.approx(63.0)
    # a leader's components alone still compute when the plan has nothing counted
    assert kpi.criterion_points(
        [{"code": "II.2", "max": 25, "source": "unit_results"}], None, {"unit_results": 0.5}
    ) == {"II.2": 12.5}


def test_compute_lists_each_item_with_its_deductions():
    out = kpi.compute([item(id=7, title="Báo cáo", errors=2, delays=1)], STAFF)
    row = out["items"][0]
    assert (row["id"], row["quality"], row["timeliness"], row["counted"]) == (7, 0.5, 0.75, True)


def test_confirming_the_plans_objective_cause_sets_points_and_level():
    from app.rules import levels

    review = {
        "kpi": {"quantity": 80.0},
        "days_worked": 21,
        "kpi_confirmed": {"total": 92.0, "scores": {"II.1": 25}, "reasons": ["Báo cáo: chờ số liệu"]},
    }
    result = kpi.plan_rules(levels.apply_level_rules("B", 85.0, review, 22), review, 22)
    assert result["level"] == "B" and result["kpi"] == {"quantity": 80.0}
    assert levels.allowed_decision_levels(result, objective_cause_confirmed=False) == ["B", "C", "D"]
    assert levels.allowed_decision_levels(result, objective_cause_confirmed=True) == ["A", "B", "C", "D"]
    kept = levels.finalize_level(result, {})
    assert (kept["total"], kept["level"]) == (85.0, "B")
    confirmed = levels.finalize_level(result, {"objective_cause_confirmed": True})
    assert (confirmed["total"], confirmed["level"], confirmed["scores"]) == (92.0, "A", {"II.1": 25})
    lowered = levels.finalize_level(result, {"objective_cause_confirmed": True, "level": "B", "reason": "Tỷ lệ"})
    assert (lowered["total"], lowered["level"]) == (92.0, "B")
    # discipline stands whatever is confirmed
    strict = kpi.plan_rules(
        levels.apply_level_rules("B", 85.0, dict(review, discipline=True), 22), dict(review, discipline=True), 22
    )
    assert levels.finalize_level(strict, {"objective_cause_confirmed": True})["level"] == "D"


def test_the_total_keeps_the_computed_points_to_the_hundredth():
    """The regulation does not round the total: computed points at 0.01 give a total at 0.01, and
    89.76 is not lifted to an A (it would be with a rounding to the half point)."""
    from app.rules import levels, scoring

    criteria = [{"code": "I", "max": 30}, {"code": "II.1", "max": 70, "source": "plan:all"}]
    points = kpi.criterion_points(criteria, {"quantity": 1, "quality": 0.994857, "timeliness": 0.994857})
    assert points == {"II.1": 69.76}
    total = scoring.score_total({"scores": dict(points, I=20)}, criteria)
    assert total == 89.76 and levels.level_for_total(total) == "B"
    assert scoring.score_total({"scores": {"I": 20, "II.1": 50.005}}, criteria) == 70.01
    assert scoring.score_total({"scores": {"I": 20.5, "II.1": 49}, "bonus": 2.5}, criteria) == 72  # typed: as before
