"""The form layer (app.forms) against the real schema files in forms/."""

from __future__ import annotations

import copy
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from werkzeug.datastructures import MultiDict

from app.forms import FieldError, FormError, expand, load_form, parse_submission, render, strip_readonly, validate
from app.forms.schema import forms_from_directory

FORMS_DIR = Path(__file__).resolve().parent.parent / "forms"
FORM_FILES = ["self_evaluation.json", "review.json", "decision.json", "appeal.json", "appeal_decision.json"]

GROUP_I = [
    ("I.1", "Chấp hành chủ trương, chính sách, pháp luật, quy định"),
    ("I.2", "Phẩm chất đạo đức, lối sống, tác phong, lề lối làm việc"),
    ("I.3", "Ý thức kỷ luật, chấp hành thời giờ làm việc"),
    ("I.4", "Tinh thần trách nhiệm, phối hợp, thái độ phục vụ nhân dân"),
]
STAFF_CRITERIA = [{"code": c, "group": "I", "name": n, "max": 5} for c, n in GROUP_I] + [
    {"code": "II.1", "group": "II", "name": "Khối lượng công việc so với kế hoạch", "max": 25},
    {"code": "II.2", "group": "II", "name": "Chất lượng, hiệu quả", "max": 25},
    {"code": "II.3", "group": "II", "name": "Tiến độ, thời hạn", "max": 20},
]
LEADER_CRITERIA = [{"code": c, "group": "I", "name": n, "max": 5} for c, n in GROUP_I] + [
    {"code": "II.1", "group": "II", "name": "Kết quả nhiệm vụ cá nhân", "max": 30},
    {"code": "II.2", "group": "II", "name": "Kết quả của đơn vị phụ trách", "max": 25},
    {"code": "II.3", "group": "II", "name": "Năng lực lãnh đạo, điều hành, tổ chức thực hiện", "max": 15},
]
GROUPS = {"I": "Ý thức tổ chức kỷ luật, phẩm chất đạo đức", "II": "Kết quả thực hiện chức trách, nhiệm vụ được giao"}


def context(criteria=STAFF_CRITERIA, **extra):
    return {"criteria": criteria, "criteria_groups": GROUPS, "working_days": 22, **extra}


@pytest.fixture(scope="module")
def forms():
    return forms_from_directory(FORMS_DIR)


def form(forms, name, ctx=None):
    return expand(load_form(forms, name), ctx if ctx is not None else context())


STAFF_SCORES = {"I.1": 5, "I.2": 4.5, "I.3": 5, "I.4": 4, "II.1": 22, "II.2": 23.5, "II.3": 18}
LEADER_SCORES = {"I.1": 5, "I.2": 5, "I.3": 4.5, "I.4": 5, "II.1": 28, "II.2": 22, "II.3": 14.5}


def fields(errors):
    return {e.field for e in errors}


def only(errors, field):
    found = [e for e in errors if e.field == field]
    assert found, f"no error on {field}: {errors}"
    return found[0]


# ------------------------------------------------------------------------------------ the files
@pytest.mark.parametrize("name", FORM_FILES)
def test_every_form_is_valid_and_bilingual(forms, name):
    schema = load_form(forms, name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] and schema["x-title-en"]
    assert schema["additionalProperties"] is False

    def check(props, where):
        for key, sub in props.items():
            assert sub.get("title"), f"{where}.{key} has no Vietnamese title"
            assert sub.get("x-title-en"), f"{where}.{key} has no English title"
            if sub.get("description"):
                assert sub.get("x-description-en"), f"{where}.{key} has no English description"
            check(sub.get("properties") or {}, f"{where}.{key}")
            check((sub.get("items") or {}).get("properties") or {}, f"{where}.{key}[]")

    check(schema["properties"], name)


def test_form_titles(forms):
    assert load_form(forms, "self_evaluation.json")["title"] == "Cá nhân tự đánh giá, chấm điểm"
    assert load_form(forms, "review.json")["title"] == "Lãnh đạo trực tiếp nhận xét, chấm điểm, đề xuất xếp loại"
    assert load_form(forms, "decision.json")["title"] == "Thủ trưởng quyết định xếp loại"
    assert load_form(forms, "appeal.json")["title"] == "Kiến nghị về kết quả đánh giá"


def test_load_form_errors(forms):
    with pytest.raises(FormError, match="nope.json.*not part of this process version"):
        load_form(forms, "nope.json")
    with pytest.raises(FormError, match="not valid JSON.*line 1"):
        load_form({"bad.json": "{oops"}, "bad.json")
    with pytest.raises(FormError, match="not a valid JSON Schema"):
        load_form({"bad.json": '{"type": "object", "properties": {"a": {"type": 5}}}'}, "bad.json")
    # folder prefixes from formJsonSchemaFilename are tolerated; dict values are copied
    assert load_form(forms, "forms/appeal.json")["title"] == "Kiến nghị về kết quả đánh giá"
    raw = {"x.json": {"type": "object", "properties": {}}}
    load_form(raw, "x.json")["mutated"] = True
    assert "mutated" not in raw["x.json"]


# ---------------------------------------------------------------------------------------- expand
def test_expand_staff_criteria(forms):
    raw = load_form(forms, "self_evaluation.json")
    schema = expand(raw, context())
    scores = schema["properties"]["scores"]
    assert list(scores["properties"]) == ["I.1", "I.2", "I.3", "I.4", "II.1", "II.2", "II.3"]
    assert scores["required"] == list(scores["properties"])
    assert scores["additionalProperties"] is False
    i1 = scores["properties"]["I.1"]
    assert i1 == {
        **i1,
        "type": "number",
        "minimum": 0,
        "maximum": 5,
        "multipleOf": 0.5,
        "title": "Chấp hành chủ trương, chính sách, pháp luật, quy định",
        "x-group": "I",
    }
    assert scores["properties"]["II.3"]["maximum"] == 20
    assert [(g["code"], g["title"], g["max"]) for g in scores["x-groups"]] == [
        ("I", GROUPS["I"], 20),
        ("II", GROUPS["II"], 70),
    ]
    assert "properties" not in raw["properties"]["scores"], "expand must not mutate its input"


def test_expand_leader_criteria(forms):
    scores = form(forms, "review.json", context(LEADER_CRITERIA))["properties"]["scores"]
    assert {c: p["maximum"] for c, p in scores["properties"].items()} == {
        "I.1": 5,
        "I.2": 5,
        "I.3": 5,
        "I.4": 5,
        "II.1": 30,
        "II.2": 25,
        "II.3": 15,
    }
    # the read-only self-evaluation section shows the same criteria
    ro = form(forms, "review.json", context(LEADER_CRITERIA))["properties"]["self_evaluation"]
    assert ro["properties"]["scores"]["properties"]["II.1"]["maximum"] == 30


def test_expand_maximum_from_context(forms):
    days = form(forms, "review.json")["properties"]["days_worked"]
    assert days["maximum"] == 22
    assert "tháng có 22 ngày làm việc" in days["description"]
    assert "22 working days" in days["x-description-en"]
    bare = expand(load_form(forms, "review.json"), {"criteria": STAFF_CRITERIA})["properties"]["days_worked"]
    assert "{" not in bare["description"] and "{" not in bare["x-description-en"]
    assert bare["description"].startswith("Số ngày làm việc thực tế trong tháng")


def test_expand_enum_from_context(forms):
    schema = form(forms, "decision.json", context(allowed_levels=["B", "C", "D"]))
    assert [o["const"] for o in schema["properties"]["level"]["oneOf"]] == ["B", "C", "D"]
    errors = validate(schema, {"level": "A", "reason": "đủ tiêu chuẩn"})
    assert "level" in fields(errors)


# -------------------------------------------------------------------------------------- validate
def test_valid_self_evaluation_passes(forms):
    data = {
        "scores": STAFF_SCORES,
        "bonus": 2,
        "bonus_reason": "Sáng kiến cải tiến thủ tục",
        "deductions": [{"points": 1.5, "reason": "Chậm báo cáo tuần"}],
        "comment": "Hoàn thành tốt.",
    }
    assert validate(form(forms, "self_evaluation.json"), data) == []
    assert validate(form(forms, "self_evaluation.json", context(LEADER_CRITERIA)), {"scores": LEADER_SCORES}) == []


def test_score_above_maximum(forms):
    schema = form(forms, "self_evaluation.json")
    errors = validate(schema, {"scores": {**STAFF_SCORES, "II.1": 26}})
    err = only(errors, "scores[II.1]")
    assert isinstance(err, FieldError)
    assert "tối đa" in err.message and "25" in err.message
    assert "maximum is 25" in err.message_en
    assert "Khối lượng công việc" in err.message  # names the field
    # a leader may score 30 on II.1, not 31
    leader = form(forms, "self_evaluation.json", context(LEADER_CRITERIA))
    assert validate(leader, {"scores": {**LEADER_SCORES, "II.1": 30}}) == []
    assert "scores[II.1]" in fields(validate(leader, {"scores": {**LEADER_SCORES, "II.1": 31}}))


def test_score_not_in_half_steps(forms):
    errors = validate(form(forms, "self_evaluation.json"), {"scores": {**STAFF_SCORES, "I.2": 0.3}})
    err = only(errors, "scores[I.2]")
    assert err.kind == "multipleOf"
    assert "0,5" in err.message and "0.5" in err.message_en


def test_negative_score(forms):
    err = only(validate(form(forms, "self_evaluation.json"), {"scores": {**STAFF_SCORES, "I.1": -1}}), "scores[I.1]")
    assert "tối thiểu là 0" in err.message


def test_bonus_needs_a_reason(forms):
    schema = form(forms, "self_evaluation.json")
    err = only(validate(schema, {"scores": STAFF_SCORES, "bonus": 2}), "bonus_reason")
    assert err.kind == "required" and "Lý do điểm thưởng" in err.message and err.message_en
    assert "bonus_reason" in fields(validate(schema, {"scores": STAFF_SCORES, "bonus": 2, "bonus_reason": "   "}))
    assert validate(schema, {"scores": STAFF_SCORES, "bonus": 0}) == []
    assert validate(schema, {"scores": STAFF_SCORES, "bonus": 2, "bonus_reason": "Được khen thưởng"}) == []
    assert "bonus" in fields(validate(schema, {"scores": STAFF_SCORES, "bonus": 10.5, "bonus_reason": "x"}))


def test_missing_score_is_reported_on_its_field(forms):
    scores = dict(STAFF_SCORES)
    del scores["I.3"]
    err = only(validate(form(forms, "self_evaluation.json"), {"scores": scores}), "scores[I.3]")
    assert err.kind == "required"
    assert "Ý thức kỷ luật" in err.message
    # no scores at all: every criterion gets its own error
    errors = validate(form(forms, "self_evaluation.json"), {})
    assert fields(errors) == {f"scores[{c}]" for c in STAFF_SCORES}


def test_wrong_type_is_an_error_not_an_exception(forms):
    schema = form(forms, "self_evaluation.json")
    errors = validate(schema, {"scores": {**STAFF_SCORES, "I.1": "abc"}, "bonus": "x", "deductions": "no"})
    assert only(errors, "scores[I.1]").kind == "type"
    assert "phải là một số" in only(errors, "scores[I.1]").message
    assert "must be a number" in only(errors, "bonus").message_en
    assert only(errors, "deductions").kind == "type"
    assert "bonus_reason" not in fields(errors)  # a non-number bonus does not trigger the reason rule
    # the same through a browser submission
    data = parse_submission(
        schema, MultiDict({**{f"scores[{c}]": str(v) for c, v in STAFF_SCORES.items()}, "scores[II.2]": "abc"})
    )
    assert data["scores"]["II.2"] == "abc"
    assert only(validate(schema, data), "scores[II.2]").kind == "type"


def test_deduction_rows(forms):
    schema = form(forms, "self_evaluation.json")
    errors = validate(schema, {"scores": STAFF_SCORES, "deductions": [{"points": 2}, {"points": 0, "reason": "x"}]})
    err = only(errors, "deductions[0][reason]")
    assert "dòng 1" in err.message and "row 1" in err.message_en
    assert only(errors, "deductions[1][points]").kind == "exclusiveMinimum"
    many = [{"points": 1, "reason": "r"}] * 11
    assert only(validate(schema, {"scores": STAFF_SCORES, "deductions": many}), "deductions").kind == "maxItems"


def test_unknown_fields_and_long_text(forms):
    schema = form(forms, "self_evaluation.json")
    errors = validate(schema, {"scores": {**STAFF_SCORES, "X.9": 1}, "result": {"level": "A"}, "comment": "a" * 2001})
    assert {"scores[X.9]", "result", "comment"} <= fields(errors)
    assert "2001" in only(errors, "comment").message


def test_readonly_sections_cannot_be_forged(forms):
    schema = form(forms, "review.json")
    forged = {"self_evaluation": {"scores": {"I.1": 5}, "total": 100}, "scores": STAFF_SCORES, "days_worked": 22}
    assert strip_readonly(schema, forged) == {"scores": STAFF_SCORES, "days_worked": 22}
    assert "self_evaluation" in forged, "strip_readonly returns a copy"
    assert validate(schema, forged) == []
    # nor through the HTML form
    md = MultiDict(
        {
            **{f"scores[{c}]": str(v) for c, v in STAFF_SCORES.items()},
            "days_worked": "22",
            "self_evaluation": "hack",
            "self_evaluation[total]": "100",
            "result[level]": "A",
        }
    )
    assert set(parse_submission(schema, md)) == {
        "scores",
        "days_worked",
        "discipline",
        "return_for_revision",
        "deductions",
    }


def test_review_rules(forms):
    schema = form(forms, "review.json")
    base = {"scores": STAFF_SCORES, "days_worked": 21}
    assert validate(schema, base) == []
    err = only(validate(schema, {**base, "return_for_revision": True}), "revision_note")
    assert err.kind == "required" and "Nội dung cần bổ sung" in err.message
    assert validate(schema, {**base, "return_for_revision": True, "revision_note": "Bổ sung minh chứng"}) == []
    assert validate(schema, {**base, "return_for_revision": False}) == []
    assert "tối đa là 22" in only(validate(schema, {**base, "days_worked": 23}), "days_worked").message
    assert only(validate(schema, {"scores": STAFF_SCORES}), "days_worked").kind == "required"
    err = only(validate(schema, {**base, "proposed_level": "E"}), "proposed_level")
    assert "A, B, C, D" in err.message
    assert validate(schema, {**base, "proposed_level": "B", "discipline": True, "objective_cause": "Ốm dài ngày"}) == []


def test_decision_rules(forms):
    schema = form(forms, "decision.json")
    assert validate(schema, {}) == []
    assert validate(schema, {"objective_cause_confirmed": True}) == []
    err = only(validate(schema, {"level": "C"}), "reason")
    assert err.kind == "required"
    assert validate(schema, {"level": "C", "reason": "Bảo đảm tỷ lệ loại A"}) == []


def test_appeal_rules(forms):
    schema = form(forms, "appeal.json")
    assert only(validate(schema, {}), "reason").kind == "required"
    assert "10" in only(validate(schema, {"reason": "ngắn"}), "reason").message
    assert validate(schema, {"reason": "Điểm II.1 chưa tính công việc đột xuất được giao."}) == []


def test_appeal_decision_rules(forms):
    schema = form(forms, "appeal_decision.json")
    assert validate(schema, {"outcome": "keep", "reason": "Đúng quy định"}) == []
    errors = validate(schema, {"outcome": "amend", "reason": "Tính thêm công việc đột xuất"})
    assert fields(errors) == {f"scores[{c}]" for c in STAFF_SCORES}
    assert validate(schema, {"outcome": "amend", "reason": "Tính thêm", "scores": STAFF_SCORES}) == []
    errors = validate(schema, {"outcome": "maybe"})
    assert "outcome" in fields(errors) and "reason" in fields(errors)


# ------------------------------------------------------------------------------------ submission
def test_parse_submission_coerces_types(forms):
    schema = form(forms, "review.json")
    md = MultiDict(
        [
            ("scores[I.1]", "4,5"),
            ("scores[I.2]", "4.5"),
            ("scores[I.3]", " 5 "),
            ("scores[I.4]", ""),
            ("bonus", ""),
            ("comment", "Dòng 1\r\nDòng 2  "),
            ("deductions[0][points]", ""),
            ("deductions[0][reason]", " "),
            ("deductions[1][points]", "1,5"),
            ("deductions[1][reason]", "Chậm báo cáo"),
            ("deductions[2][points]", ""),
            ("deductions[2][reason]", ""),
            ("days_worked", "20,5"),
            ("discipline", "true"),
            ("proposed_level", "B"),
            ("revision_note", ""),
            ("csrf_token", "abc"),
        ]
    )
    data = parse_submission(schema, md)
    assert data == {
        "scores": {"I.1": 4.5, "I.2": 4.5, "I.3": 5},
        "comment": "Dòng 1\nDòng 2",
        "deductions": [{"points": 1.5, "reason": "Chậm báo cáo"}],
        "days_worked": 20.5,
        "discipline": True,
        "proposed_level": "B",
        "return_for_revision": False,
    }
    assert isinstance(data["scores"]["I.3"], int)
    # a plain dict works as well
    assert parse_submission(schema, {"days_worked": "3"})["days_worked"] == 3


class _FormScraper(HTMLParser):
    """What a browser would submit from the rendered fields (successful controls only)."""

    def __init__(self):
        super().__init__()
        self.pairs: list[tuple[str, str]] = []
        self.names: list[str] = []
        self._textarea = None
        self._select = None
        self._option = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name"):
            self.names.append(a["name"])
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.pairs.append((a["name"], a.get("value", "on")))
            else:
                self.pairs.append((a["name"], a.get("value", "")))
        elif tag == "textarea":
            self.names.append(a["name"])
            self._textarea = [a["name"], ""]
        elif tag == "select":
            self.names.append(a["name"])
            self._select = a["name"]
        elif tag == "option" and self._select and "selected" in a:
            self.pairs.append((self._select, a.get("value", "")))

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea is not None:
            name, text = self._textarea
            self.pairs.append((name, text[1:] if text.startswith("\n") else text))  # browsers drop it
            self._textarea = None
        elif tag == "select":
            self._select = None


def scrape(html) -> _FormScraper:
    s = _FormScraper()
    s.feed(str(html))
    s.close()
    return s


def round_trip(schema, data, ctx):
    html = render(schema, data, [], ctx)
    return parse_submission(schema, MultiDict(scrape(html).pairs))


@pytest.mark.parametrize("criteria,scores", [(STAFF_CRITERIA, STAFF_SCORES), (LEADER_CRITERIA, LEADER_SCORES)])
def test_review_round_trip(forms, criteria, scores):
    ctx = context(criteria)
    schema = form(forms, "review.json", ctx)
    data = {
        "scores": scores,
        "bonus": 1.5,
        "bonus_reason": "Sáng kiến “một cửa” <tốt> & nhanh",
        "deductions": [{"points": 2, "reason": "Chậm tiến độ"}, {"points": 0.5, "reason": "Đi muộn"}],
        "comment": "Ưu điểm: chủ động.\nHạn chế: còn chậm.",
        "days_worked": 21.5,
        "discipline": False,
        "objective_cause": "Nghỉ ốm 3 ngày",
        "proposed_level": "B",
        "return_for_revision": True,
        "revision_note": "Bổ sung minh chứng điểm thưởng",
    }
    assert validate(schema, data) == []
    assert round_trip(schema, data, ctx) == data
    # read-only data shown in the form is not submitted back
    with_self = {**data, "self_evaluation": {"scores": scores, "comment": "Tự thấy tốt"}}
    assert round_trip(schema, with_self, ctx) == data


def test_other_forms_round_trip(forms):
    ctx = context()
    cases = {
        "self_evaluation.json": {
            "scores": STAFF_SCORES,
            "bonus": 0,
            "deductions": [],
            "comment": "Đã hoàn thành 100% kế hoạch tháng",
        },
        "decision.json": {"level": "C", "reason": "Bảo đảm tỷ lệ", "objective_cause_confirmed": True},
        "appeal.json": {"reason": "Đề nghị xem xét lại điểm tiêu chí II.2"},
        "appeal_decision.json": {
            "outcome": "amend",
            "reason": "Chấp nhận một phần",
            "scores": STAFF_SCORES,
            "bonus": 1,
            "bonus_reason": "Khen thưởng đột xuất",
            "deductions": [{"points": 1, "reason": "Chậm"}],
        },
    }
    for name, data in cases.items():
        schema = form(forms, name, ctx)
        assert validate(schema, data) == [], name
        assert round_trip(schema, data, ctx) == data, name


def test_rendered_names_are_the_error_field_names(forms):
    schema = form(forms, "self_evaluation.json")
    names = set(scrape(render(schema, {}, [], context())).names)
    errors = validate(schema, {"bonus": 1, "deductions": [{"points": 0.3}, {}]})
    assert errors and fields(errors) <= names, fields(errors) - names


# -------------------------------------------------------------------------------------------- html
def test_render_escapes_user_data(forms):
    ctx = context()
    schema = form(forms, "review.json", ctx)
    evil = '<script>alert("x")</script>'
    html = str(
        render(
            schema,
            {
                "comment": evil,
                "bonus_reason": '"><img src=x onerror=alert(1)>',
                "scores": {"I.1": '"><b>'},
                "self_evaluation": {"scores": STAFF_SCORES, "comment": evil},
            },
            [],
            ctx,
        )
    )
    assert "<script>" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html
    assert html.count("&lt;script&gt;") == 2  # the comment field and the read-only self comment
    # error messages are escaped too
    err = FieldError("comment", "<i>vi</i>", "<i>en</i>")
    assert "<i>" not in str(render(schema, {}, [err], ctx))


def test_render_keeps_vietnamese(forms):
    ctx = context()
    schema = form(forms, "self_evaluation.json", ctx)
    comment = "Đã hoàn thành xuất sắc nhiệm vụ được giao; tiếp tục phấn đấu."
    html = str(render(schema, {"comment": comment}, [], ctx))
    assert comment in html
    for text in (
        "Tự nhận xét",
        "Chấp hành chủ trương, chính sách, pháp luật, quy định",
        "Ý thức tổ chức kỷ luật, phẩm chất đạo đức",
        "Điểm thưởng",
        "Điểm trừ",
    ):
        assert text in html
    assert "&#" not in html.replace("&#34;", "").replace("&#39;", "")
    assert round_trip(schema, {"scores": STAFF_SCORES, "comment": comment, "deductions": []}, ctx)["comment"] == comment


def test_render_structure_and_accessibility(forms):
    ctx = context()
    schema = form(forms, "self_evaluation.json", ctx)
    data = {"scores": {**STAFF_SCORES, "II.1": 26}, "bonus": 2, "deductions": [{"points": 1, "reason": "Chậm"}]}
    errors = validate(schema, data)
    html = str(render(schema, data, errors, ctx))
    # one fieldset per criteria group, with a legend
    assert re.search(r'<fieldset class="criteria-group" data-group="I"><legend>I\. Ý thức tổ chức', html)
    assert re.search(r'<fieldset class="criteria-group" data-group="II"><legend>II\. Kết quả', html)
    # labels point at inputs; number boxes (text, so "4,5" can be typed) carry the limits and the criterion
    m = re.search(r'<input type="text" id="(f-scores-II-1)" name="scores\[II\.1\]"[^>]*>', html)
    tag = m.group(0)
    assert f'<label for="{m.group(1)}">' in html
    for attr in (
        'data-min="0"',
        'data-max="25"',
        'data-step="0.5"',
        'inputmode="decimal"',
        'data-criterion="II.1"',
        'aria-invalid="true"',
        "required",
        'value="26"',
    ):
        assert attr in tag, attr
    assert re.search(r'aria-describedby="[^"]*f-scores-II-1-error"', tag)
    # the error sits right after the input, in the page's one language
    after = html[m.end() :]
    assert after.startswith('<p class="field-error" id="f-scores-II-1-error" role="alert">')
    assert "tối đa là 25" in after[:600] and 'lang="en"' not in after[:600]
    # valid inputs are not marked invalid
    ok = re.search(r'<input type="text" id="f-scores-I-1"[^>]*>', html).group(0)
    assert "aria-invalid" not in ok
    # bonus reason error (conditional required) is next to its field
    assert 'id="f-bonus_reason-error"' in html
    # help text, required marker, running total, text areas
    assert '<small class="field-help" id="f-bonus-help">' in html
    assert 'class="required"' in html
    assert re.search(r'<output class="running-total" data-total-for="scores"', html)
    assert re.search(r'<textarea id="f-comment" name="comment"', html)
    # deductions: the existing row and two empty ones
    assert 'name="deductions[0][reason]"' in html and 'name="deductions[2][reason]"' in html
    assert 'name="deductions[3][reason]"' not in html
    # an error summary links to the fields
    assert '<a href="#f-scores-II-1">' in html


def test_render_selects_and_checkboxes(forms):
    ctx = context()
    schema = form(forms, "review.json", ctx)
    html = str(render(schema, {"proposed_level": "B", "discipline": True}, [], ctx))
    assert re.search(r'<select id="f-proposed_level" name="proposed_level"', html)
    assert '<option value="B" selected>B – Hoàn thành tốt nhiệm vụ' in html
    assert re.search(r'<input type="checkbox" id="f-discipline" name="discipline"[^>]* value="true" checked>', html)
    assert not re.search(r'name="return_for_revision"[^>]*checked', html)
    appeal = form(forms, "appeal_decision.json", ctx)
    html = str(render(appeal, {}, [], ctx))
    assert "Giữ nguyên kết quả" in html and "Điều chỉnh điểm" in html
    assert "data-show-when=" in html


def test_readonly_self_evaluation_section(forms):
    ctx = context()
    schema = form(forms, "review.json", ctx)
    html = str(render(schema, {}, [], ctx))
    assert "Không tự đánh giá" in html
    assert 'name="self_evaluation' not in html
    self_eval = {
        "scores": STAFF_SCORES,
        "bonus": 1,
        "bonus_reason": "Sáng kiến",
        "deductions": [{"points": 2, "reason": "Chậm báo cáo"}],
        "comment": "Tự thấy hoàn thành tốt",
    }
    html = str(render(schema, {"self_evaluation": self_eval}, [], ctx))
    assert "Không tự đánh giá" not in html
    section = html[html.index('<section class="readonly-section"') : html.index("</section>")]
    assert "<input" not in section and "<textarea" not in section
    assert "<table" in section and "<dl" in section
    assert "Khối lượng công việc so với kế hoạch" in section and "Tự thấy hoàn thành tốt" in section
    assert "Chậm báo cáo" in section
    # self total = 82 + 1 - 2 = 81; each criterion shows its maximum and the self score (23,5)
    assert '<dd class="readonly-value total">81</dd>' in section
    assert '<td class="num">25</td><td class="num">23,5</td>' in section
    # the source may also come from the context (when re-rendering a rejected submission)
    html = str(render(schema, {}, [], {**ctx, "self_evaluation": self_eval}))
    assert "Tự thấy hoàn thành tốt" in html


def test_readonly_result_and_appeal(forms):
    ctx = context()
    schema = form(forms, "appeal_decision.json", ctx)
    data = {
        "appeal": {"reason": "Đề nghị xem xét lại <điểm>"},
        "result": {
            "total": 68.5,
            "level": "C",
            "rules_applied": [{"rule": "score", "level": "C", "reason": "Tổng điểm 68.5 → loại C"}],
        },
    }
    html = str(render(schema, data, [], ctx))
    assert "Đề nghị xem xét lại &lt;điểm&gt;" in html
    assert "68,5" in html and "C – Hoàn thành nhiệm vụ" in html
    assert "Tổng điểm 68.5 → loại C" in html
    assert 'name="result' not in html and 'name="appeal' not in html
    assert "Chưa có kết quả" in str(render(schema, {}, [], ctx))


def test_validate_refuses_an_unexpanded_schema(forms):
    with pytest.raises(FormError, match="expand"):
        validate(load_form(forms, "self_evaluation.json"), {"scores": {}})
    # forms without criteria need no context
    assert validate(load_form(forms, "appeal.json"), {"reason": "Đề nghị xem xét lại kết quả"}) == []


def test_render_unexpanded_schema_uses_context(forms):
    html = str(render(load_form(forms, "self_evaluation.json"), {}, [], context()))
    assert 'name="scores[II.3]"' in html and 'data-max="20"' in html


def test_errors_are_bilingual_everywhere(forms):
    schema = form(forms, "review.json")
    bad = {
        "scores": {"I.1": 9, "I.2": 0.3, "I.3": "x", "X": 1},
        "bonus": 2,
        "deductions": [{"points": -1}] * 11,
        "comment": "c" * 3000,
        "days_worked": -1,
        "discipline": "yes",
        "proposed_level": "Z",
        "return_for_revision": True,
        "unexpected": copy.deepcopy(STAFF_SCORES),
    }
    errors = validate(schema, bad)
    assert len(errors) > 10
    for e in errors:
        assert e.message and e.message_en and e.field, e
        assert e.message != e.message_en


def test_instructions_render_task_data_escaped_and_bold():
    from app.forms import render_instructions

    html = str(
        render_instructions(
            "Kỳ **{{ period }}**{% if revision_note %}\n\nTrả lại: {{ revision_note }}{% endif %}",
            {"period": "2030-03", "revision_note": "<script>x</script> bổ sung"},
        )
    )
    assert html == "<p>Kỳ <strong>2030-03</strong></p><p>Trả lại: &lt;script&gt;x&lt;/script&gt; bổ sung</p>"
    assert str(render_instructions("{{ missing.key }}ok", {})) == "<p>ok</p>"
    assert "__class__" not in str(render_instructions("{{ ''.__class__ }}", {}))
