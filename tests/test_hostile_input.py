"""Property-based tests over every generated form: arbitrary data never crashes validation,
parsing or rendering, rendering always escapes, and text survives a round trip unchanged."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from werkzeug.datastructures import MultiDict

from app import forms
from app.rules import schemes

from .conftest import PERIOD
from .support import Api, scores_for
from .test_pages import login

CONTEXT = {
    "criteria": schemes.criteria_for({"criteria": schemes.SCHEMES["hanoi-monthly"]["criteria"]}, "staff"),
    "criteria_groups": schemes.GROUP_NAMES,
    "working_days": 22,
    "allowed_levels": ["B", "C", "D"],
    "result": {"total": 80, "level": "B", "rules_applied": []},
    "appeal": {"reason": "x"},
}
FORM_FILES = sorted(forms.forms_from_directory("forms"))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**12), 10**12) | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=20,
)
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


def _schema(name):
    return forms.expand(forms.load_form(forms.forms_from_directory("forms"), name), CONTEXT)


@pytest.mark.parametrize("name", FORM_FILES)
@SLOW
@given(
    data=st.dictionaries(
        st.sampled_from(
            [
                "scores",
                "bonus",
                "bonus_reason",
                "deductions",
                "comment",
                "days_worked",
                "discipline",
                "level",
                "reason",
                "outcome",
                "return_for_revision",
                "revision_note",
                "x",
            ]
        ),
        json_values,
        max_size=8,
    )
)
def test_validation_never_crashes(name, data):
    errors = forms.validate(_schema(name), data)
    assert all(e.field is not None and e.message and e.message_en for e in errors)


@pytest.mark.parametrize("name", FORM_FILES)
@SLOW
@given(
    pairs=st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "scores[I.1]",
                    "scores[II.3]",
                    "bonus",
                    "deductions[0][points]",
                    "deductions[7][reason]",
                    "comment",
                    "days_worked",
                    "discipline",
                    "level",
                    "reason",
                    "outcome",
                    "scores",
                    "x[y][z]",
                ]
            ),
            st.text(max_size=30) | st.text(max_size=20).map(lambda t: f"<x-evil>{t}"),
        ),
        max_size=10,
    )
)
def test_parsing_and_rendering_never_crash_and_always_escape(name, pairs):
    schema = _schema(name)
    data = forms.parse_submission(schema, MultiDict(pairs))
    errors = forms.validate(schema, data)
    html = str(forms.render(schema, data, errors, CONTEXT))
    assert "<x-evil>" not in html


TRICKY = [
    "Nguyễn Thị Ánh Tuyết — hoàn thành 100% 🎉👍",
    "Ｔｅｓｔ ﷽ \u200b zero-width",
    "ㅤ" * 3 + " đ " * 500,
    "<script>alert(1)</script> & \"quotes\" 'single'",
    "dòng 1\ndòng 2\n\ndòng 4",
]


@pytest.mark.parametrize("text", TRICKY)
def test_vietnamese_emoji_and_long_text_round_trip_unchanged(client, text):
    hr = Api(client, "nva")
    assert hr.post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD}).status_code == 200
    ttb = Api(client, "ttb")
    task = ttb.task_for("ttb", "self_evaluation")
    comment = text[:2000]
    ttb.complete(task["id"], dict(scores_for(80), comment=comment))
    review = Api(client, "tptc").task_for("ttb", "review")
    events = Api(client, "nva").get(f"/instances/{task['instance_id']}").get_json()["events"]
    stored = next(e for e in events if e["action"] == "task_completed")["details"]["data"]["comment"]
    assert stored == comment
    login(client, "tptc")  # the manager sees it read-only, escaped, unchanged
    page = client.get(f"/tasks/{review['id']}").get_data(as_text=True)
    first_line = comment.split("\n")[0]
    assert str(escape(first_line)) in page and ("<script>alert(1)" not in page)


def test_oversized_request_is_refused_cleanly(client):
    resp = client.post("/api/v1/auth/token", data="x" * (3 * 1024 * 1024), content_type="application/json")
    assert resp.status_code == 413 and resp.get_json()["error"] == "too_large"


def test_nul_bytes_are_refused_with_400(client):
    api = Api(client, "nva")
    assert api.get("/reports/rollup?unit=%00").status_code == 400
    assert api.post("/cycles", {"unit": "SNV\u0000", "period": PERIOD}).status_code == 400
    assert client.get("/login?next=%00").status_code == 400
    page = client.get("/login").get_data(as_text=True)
    from .conftest import csrf_token

    assert (
        client.post("/login", data={"username": "nva\x00", "password": "x", "csrf_token": csrf_token(page)}).status_code
        == 400
    )
