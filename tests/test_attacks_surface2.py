"""A second red-team pass over the contracts (API, pages, commands): each test failed (a 500, or a change
that should have been refused) before its fix. docs/security.md lists them from #48 on."""

from __future__ import annotations

import io
import re

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from app import strict_json
from app.extensions import db
from app.models import AuditEvent, Comment, EvaluationRecord, Membership, OutgoingMail, PlanItem, Unit, User

from .conftest import csrf_token, user
from .monitor_seed import instance_id, open_month, ready_task
from .support import Api
from .test_evidence import month  # noqa: F401 — fixture
from .test_pages import login


def _count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _written() -> tuple[int, int, int, int]:
    return _count(AuditEvent), _count(OutgoingMail), _count(Comment), _count(PlanItem)


def _second_agency() -> Unit:
    """Sở Xây dựng beside Sở Nội vụ, with its own head and HR officer (hrx) and a staff member (nvx)."""
    city = db.session.scalars(select(Unit).where(Unit.code == "UBTP")).one()
    sxd = Unit(code="SXD", name="Sở Xây dựng", parent_id=city.id, is_agency=True)
    db.session.add(sxd)
    db.session.flush()
    people = [
        User(username="gdx", full_name="Giám Đốc Xây", unit_id=sxd.id, position_group="leader"),
        User(username="hrx", full_name="Tổ Chức Xây", unit_id=sxd.id, position_group="staff", roles="hr_officer"),
        User(username="nvx", full_name="Nhân Viên Xây", unit_id=sxd.id, position_group="staff", password_hash=""),
    ]
    for person in people[:2]:
        person.set_password("DanhGia@2026")
    db.session.add_all(people)
    db.session.flush()
    sxd.head_id = people[0].id
    db.session.commit()
    return sxd


# ------------------------------------------------------------------ #48 lone surrogates in JSON strings
SURROGATE_BODIES = {
    "a lone high surrogate": '{"body": "a\\ud800b", "title": "x\\ud800", "reason": "L\\u00fd do \\udbff d\\u00e0i",'
    ' "unit": "SNV\\ud800", "username": "\\ud800", "password": "x", "data": {"comment": "\\ud800"}}',
    "a lone low surrogate in a key": '{"\\udc00": 1, "data": {}, "reason": "L\\u00fd do d\\u00e0i"}',
    "raw CESU-8 bytes": b'{"body": "\xed\xa0\x80", "title": "\xed\xa0\x80", "reason": "L\xc3\xbd do \xed\xa0\x80"}',
}


def test_the_parser_refuses_a_lone_surrogate_and_keeps_a_pair():
    assert strict_json.loads('{"a": "\\ud83d\\ude00 \\u00e0"}') == {"a": "😀 à"}
    assert strict_json.loads('{"a": "\\\\ud800"}') == {"a": "\\ud800"}  # an escaped backslash: plain text
    for text, place in (('{"a": ["x", "\\ud800"]}', "/a/1"), ('{"b": {"c": "\\uDFFF"}}', "/b/c")):
        with pytest.raises(strict_json.Refused) as refused:
            strict_json.loads(text)
        assert refused.value.places == [place]


@pytest.mark.parametrize("label", SURROGATE_BODIES)
def test_every_api_endpoint_refuses_a_lone_surrogate_with_400_and_writes_nothing(client, label):
    """`"\\ud800"` is valid JSON but no UTF-8 text: it reached the database driver (UnicodeEncodeError, a
    500) on comments, plan items, reasons, the sign-in and the month opening."""
    hr = open_month(client)
    ids = {"task_id": ready_task("ttb").id, "instance_id": instance_id("ttb")}
    body = SURROGATE_BODIES[label]
    before = _written()
    rules = sorted(
        r.rule for r in client.application.url_map.iter_rules() if r.rule.startswith("/api/v1/") and "POST" in r.methods
    )
    assert "/api/v1/instances/<int:instance_id>/comments" in rules and len(rules) >= 12
    for rule in rules:
        path = re.sub(r"<int:(\w+)>", lambda m: str(ids[m.group(1)]), rule)
        path = path.replace("<username>", "ttb").replace("<period>", "2030-03")
        resp = client.post(path, data=body, content_type="application/json", headers=hr.headers)
        assert resp.status_code == 400, (rule, resp.status_code, resp.get_data(as_text=True)[:300])
        out = resp.get_json()
        assert out["error"] == "bad_request" and "surrogate" in out["message_en"] and out["details"]
    assert _written() == before


def test_the_refusal_names_the_field_holding_the_surrogate(client):
    open_month(client)
    api = Api(client, "ttb")
    resp = client.post(
        f"/api/v1/instances/{instance_id('ttb')}/comments",
        data='{"body": "Ch\\u00e0o \\ud800"}',
        content_type="application/json",
        headers=api.headers,
    )
    assert resp.status_code == 400
    assert [d["field"] for d in resp.get_json()["details"]] == ["/body"]
    assert _count(Comment) == 0


# --------------------------------------------------- #49 an HR officer carrying the role into another agency
def test_an_hr_officer_cannot_move_an_hr_officer_into_another_agency(ctx, client):
    """The HR role is scoped by the agency the officer works in: a transfer of oneself (or of a fellow
    officer) to Sở Xây dựng made the officer HR of that agency, seeing its records and printing the
    activation codes of its people."""
    _second_agency()
    nvx = user("nvx").id
    login(client, "nva")
    token = csrf_token(client.get("/hr/transfers").get_data(as_text=True))
    for who in ("nva",):
        before_unit = user(who).unit_id
        resp = client.post(
            "/hr/transfers", data={"csrf_token": token, "username": who, "unit": "SXD", "on": "2026-01-02"}
        )
        assert resp.status_code == 403
        assert user(who).unit_id == before_unit
        assert _count(Membership, Membership.user_id == user(who).id) == 0
        assert _count(AuditEvent, AuditEvent.action == "transferred") == 0
    # still no reach into the other agency: its activation page and its people's codes are refused
    codes = client.post("/hr/activation/codes", data={"csrf_token": token, "user_id": [str(nvx)]})
    assert codes.status_code in (302, 403)
    assert "Nhân Viên Xây" not in client.get("/hr/activation").get_data(as_text=True)
    # an ordinary person of the agency may still be sent to another agency, and within the agency the
    # officer moves anyone, themselves included
    resp = client.post(
        "/hr/transfers", data={"csrf_token": token, "username": "lvc", "unit": "SXD", "on": "2026-01-02"}
    )
    assert resp.status_code == 302 and user("lvc").unit.code == "SXD"
    resp = client.post(
        "/hr/transfers", data={"csrf_token": token, "username": "nva", "unit": "SNV-VP", "on": "2026-01-02"}
    )
    assert resp.status_code == 302 and user("nva").unit.code == "SNV-VP"
    # an administrator moves an HR officer between agencies
    login(client, "admin")
    token = csrf_token(client.get("/hr/transfers").get_data(as_text=True))
    resp = client.post(
        "/hr/transfers", data={"csrf_token": token, "username": "nva", "unit": "SXD", "on": "2026-02-02"}
    )
    assert resp.status_code == 302 and user("nva").unit.code == "SXD"


# ---------------------------------------------------------------- #50 the audit export's last possible day
@pytest.mark.parametrize("query", ["to=9999-12-31", "from=9999-12-31&to=9999-12-31", "from=0001-01-01&to=9999-12-31"])
def test_the_audit_export_takes_the_last_day_of_the_calendar(ctx, client, query):
    login(client, "admin")
    resp = client.get(f"/admin/audit.csv?{query}")
    assert resp.status_code == 200
    lines = resp.get_data(as_text=True).splitlines()
    assert lines[0].lstrip("\ufeff").startswith("id,")
    assert any(",org_imported," in line for line in lines) == ("from=9999" not in query)


# ------------------------------------------------- #51 a control character in a reason breaking the Excel export
def test_a_control_character_in_a_reason_is_refused_at_the_door(client):
    open_month(client)
    manager = Api(client, "tptc")
    target = instance_id("ttb")
    for reason in ("Nghỉ ốm \x1b[31m dài ngày", "Nghỉ \x01 ốm", "x" * 501):
        resp = manager.post(f"/instances/{target}/not-evaluated", {"reason": reason})
        assert resp.status_code == 422, resp.get_json()
        assert [d["field"] for d in resp.get_json()["details"]] == ["reason"]
    db.session.expire_all()
    assert db.session.get(EvaluationRecord, _record_id("ttb")).status != "not_evaluated"
    assert _count(AuditEvent, AuditEvent.action == "not_evaluated") == 0


def _record_id(username: str) -> int:
    return db.session.scalars(select(EvaluationRecord.id).where(EvaluationRecord.subject_id == user(username).id)).one()


def test_a_control_character_already_stored_never_breaks_the_excel_export(client):
    """openpyxl refuses control characters in a cell: one reason typed with an escape character (through
    a form field that takes free text, or before the check above) made the unit's export a 500."""
    from openpyxl import load_workbook

    open_month(client)
    assert Api(client, "tptc").post(f"/instances/{instance_id('ttb')}/not-evaluated", {"reason": "Nghỉ ốm dài ngày"})
    record = db.session.get(EvaluationRecord, _record_id("ttb"))
    record.not_evaluated_reason = "Nghỉ \x01ốm\x1b[31m dài ngày\x0b"
    record.rules_applied = [{"rule": "discipline", "reason": "Kỷ luật\x07 khiển trách"}]
    db.session.commit()
    login(client, "nva")
    for resp in (
        client.get(f"/dashboard/export/monthly.xlsx?unit=SNV-TCCB&period={record.period}"),
        Api(client, "nva").get(f"/reports/monthly.xlsx?unit=SNV-TCCB&period={record.period}"),
    ):
        assert resp.status_code == 200
        sheet = load_workbook(io.BytesIO(resp.data)).active
        texts = " ".join(str(c.value) for row in sheet.iter_rows() for c in row if c.value)
        assert "Không đánh giá: Nghỉ ốm[31m dài ngày" in texts and "Kỷ luật khiển trách" in texts


# ------------------------------------------ #52 a designer's instructions template that works without bound
HOSTILE_INSTRUCTIONS = {
    "a string times a huge number": "Kỳ {{ period }}: {{ 'x' * 10**7 }}",
    "a huge width in format": "{{ '%010000000d'|format(1) }}",
    "a huge width in center": "{{ period|center(10000000) }}",
    "nested loops over range": "{% for a in range(100000) %}{% for b in range(100) %}{% endfor %}{% endfor %}ok",
    "lipsum": "{{ lipsum(n=1000, html=False) }}",
    "a recursive macro": "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
}


def _with_instructions(files: dict, element: str, template: str) -> dict:
    from xml.sax.saxutils import escape

    files = dict(files)
    name = next(n for n in files if n.endswith(".bpmn"))
    text = files[name]
    start = text.index(f'<bpmn:userTask id="{element}"')
    tag = "<spiffworkflow:instructionsForEndUser>"
    open_at = text.index(tag, start) + len(tag)
    close_at = text.index("</spiffworkflow:instructionsForEndUser>", open_at)
    files[name] = text[:open_at] + escape(template) + text[close_at:]
    return files


def _publish_unchecked(files: dict) -> None:
    """A version as `versions.publish` writes it after the checks (the instructions are advice there)."""
    from app.models import ProcessVersion
    from app.services.process_design import versions

    latest = versions.latest_published()
    db.session.add(
        ProcessVersion(
            process_key=versions.PROCESS_KEY,
            version=latest.version + 1,
            files=files,
            sha256=versions.digest(files),
            status="published",
            note="instructions",
        )
    )
    db.session.commit()


@pytest.mark.parametrize("label", HOSTILE_INSTRUCTIONS)
def test_instructions_that_would_work_without_bound_are_shown_as_written(client, label):
    """Jinja's sandbox stops attribute walks, not work: each of these held a worker (or made a page of
    10 MB) on every view of the task, for every assignee, page and API alike."""
    from app.services.process_design import versions

    template = HOSTILE_INSTRUCTIONS[label]
    _publish_unchecked(_with_instructions(versions.files_from_disk(), "self_evaluation", template))
    open_month(client, "SNV-TCCB")
    api = Api(client, "ttb")
    task = api.task_for("ttb", "self_evaluation")
    detail = api.get(f"/tasks/{task['id']}")
    assert detail.status_code == 200 and len(detail.data) < 100_000
    assert detail.get_json()["instructions"] == str(escape(template)).join(("<p>", "</p>"))
    login(client, "ttb")
    page = client.get(f"/tasks/{task['id']}")
    assert page.status_code == 200 and len(page.data) < 200_000


def test_instructions_keep_what_designers_write():
    from app.forms import render_instructions

    template = (
        "Kỳ **{{ period }}** của {{ subject.full_name|upper }}{% if plan_note %}: {{ plan_note }}{% endif %}. "
        "{% for item in items %}{{ loop.index }}) {{ item.title|default('—') }} {% endfor %}"
        "Tổng {{ result.total|round(1) }}{{ ' (' ~ level ~ ')' if level else '' }}"
    )
    out = str(
        render_instructions(
            template,
            {
                "period": "2030-03",
                "subject": {"full_name": "Trần Thị Bình"},
                "plan_note": "<b>bổ sung</b>",
                "items": [{"title": "Báo cáo"}, {}],
                "result": {"total": 87.25},
                "level": "B",
            },
        )
    )
    assert out == (
        "<p>Kỳ <strong>2030-03</strong> của TRẦN THỊ BÌNH: &lt;b&gt;bổ sung&lt;/b&gt;. 1) Báo cáo 2) — Tổng 87,2 (B)</p>"
    )


# ------------------------------------------- #53 the month opening's progress carried by the page, forged
FORGED_PROGRESS = {
    "an id past the integer range": {"after": 9223372036854775808},
    "an id of 300 digits": {"after": 10**300},
    "made-up totals": {"done": 10**300, "started": 10**300},
    "more started than examined": {"after": 0, "done": 3, "started": 3, "skipped": 3},
    "a negative count": {"started": -5},
    "a boolean": {"after": True},
    "text": {"after": "abc"},
}


@pytest.mark.parametrize("label", FORGED_PROGRESS)
def test_the_opening_refuses_a_forged_progress_and_writes_nothing(client, label):
    """The page carries `after` (the last user id examined) and the running totals between chunks, and
    the totals end in the closing audit event: a huge id was a 500 (the integer column), made-up totals
    ("10**300 started") were written to the audit trail as the opening's."""
    from app.models import ProcessInstance

    login(client, "nva")
    headers = {"X-CSRFToken": csrf_token(client.get("/months/open").get_data(as_text=True))}
    body = dict({"unit": "SNV-TCCB", "period": "2030-03"}, **FORGED_PROGRESS[label])
    resp = client.post("/months/open/step", data=_json_text(body), content_type="application/json", headers=headers)
    assert resp.status_code == 400, resp.get_data(as_text=True)[:300]
    assert {d["field"] for d in resp.get_json()["details"]} & {"after", "done", "started", "skipped"}
    assert _count(ProcessInstance) == 0
    assert _count(AuditEvent, AuditEvent.action == "month_opened") == 0


def _json_text(body: dict) -> str:
    import json

    return json.dumps(body)  # 10**300 as an integer literal: within strict_json's float range


def test_the_opening_still_runs_chunk_by_chunk_and_refuses_a_body_that_is_not_an_object(client):
    login(client, "nva")
    headers = {"X-CSRFToken": csrf_token(client.get("/months/open").get_data(as_text=True))}
    first = client.post(
        "/months/open/step", json={"unit": "SNV-TCCB", "period": "2030-03", "after": 0}, headers=headers
    ).get_json()
    assert first["finished"] and first["started"] == 5
    assert _count(AuditEvent, AuditEvent.action == "month_opened") == 1
    again = client.post("/months/open/step", json=dict(first, unit="SNV-TCCB", period="2030-03"), headers=headers)
    assert again.status_code == 200 and again.get_json()["finished"]
    for body in ("[1, 2]", '"SNV"', "null"):
        resp = client.post("/months/open/step", data=body, content_type="application/json", headers=headers)
        assert resp.status_code == 400 and resp.get_json()["error"] == "bad_request"


# ----------------------------------------------- #54 an HR officer making themselves the reviewer of anyone
@pytest.mark.parametrize("actor", ["nva", "admin"])
def test_nobody_reassigns_a_review_to_themselves(client, actor):
    """Reassigning moves a waiting review when its holder is away; an HR officer (or an administrator),
    outside the person's chain, reassigned the manager's review of anyone in the agency to themselves and
    then scored it."""
    from .monitor_seed import self_evaluate

    open_month(client, "SNV-TCCB")
    self_evaluate(client, "ttb")
    task = ready_task("ttb", "review")
    api = Api(client, actor)
    reason = "Lãnh đạo phòng đi công tác dài ngày"
    resp = api.post(f"/human-tasks/{task.id}/reassign", {"assignee": actor, "reason": reason})
    assert resp.status_code == 422 and [d["field"] for d in resp.get_json()["details"]] == ["assignee"]
    db.session.expire_all()
    assert ready_task("ttb", "review").assignee.username == "tptc"
    assert _count(AuditEvent, AuditEvent.action == "task_reassigned") == 0
    # the page says it next to the field too, and someone else still takes it
    login(client, actor)
    token = csrf_token(client.get(f"/instances/{task.instance_id}").get_data(as_text=True))
    page = client.post(
        f"/operations/tasks/{task.id}/reassign", data={"csrf_token": token, "assignee": actor, "reason": reason}
    )
    assert page.status_code == 302
    db.session.expire_all()
    assert ready_task("ttb", "review").assignee.username == "tptc"
    assert api.post(f"/human-tasks/{task.id}/reassign", {"assignee": "tpcc", "reason": reason}).status_code == 200
    db.session.expire_all()
    assert ready_task("ttb", "review").assignee.username == "tpcc"


# --------------------------------------------------------- #55 the worker's clock and pace from the command line
@pytest.mark.parametrize(
    "args",
    [
        ["timers", "run", "--now", "0001-01-01T00:00:00+07:00"],
        ["timers", "run", "--now", "9999-12-31T23:59:59-05:00"],
        ["timers", "run", "--now", "9999-12-31T23:59:59+00:00"],
        ["worker", "--once", "--interval", "nan"],
        ["worker", "--once", "--interval", "-1"],
        ["worker", "--once", "--interval", "inf"],
    ],
    ids=lambda a: " ".join(a[-2:]),
)
def test_the_commands_refuse_a_clock_or_a_pace_they_cannot_keep(ctx, args):
    """`--now 0001-01-01T00:00:00+07:00` is before the first instant UTC can hold (an OverflowError
    traceback); `--interval nan` or `-1` crashed the worker's loop at its first sleep."""
    result = ctx.test_cli_runner().invoke(args=args)
    assert result.exit_code in (1, 2) and isinstance(result.exception, SystemExit), result.exception
    assert ("--now" if "--now" in args else "--interval") in result.output
    assert _count(AuditEvent, AuditEvent.action != "org_imported") == 0
    ok = ctx.test_cli_runner().invoke(args=["timers", "run", "--now", "2030-05-20T08:00:00+07:00"])
    assert ok.exit_code == 0, ok.output


# ------------------------------------- #56 an activation code for someone who signs in with the city's account
def test_an_hr_officer_cannot_take_over_someone_who_signs_in_with_the_citys_account(ctx, client):
    """With single sign-on a person never sets a password: they stayed "not activated", so their HR
    officer could print them an activation code, set a password and sign in as them, while they went on
    signing in with the city's account unaware. A code printed before their first sign-in stopped
    working for nobody."""
    from app.models import AccountToken
    from app.services.organisation import orgimport

    from .test_activation import _set_password

    orgimport.import_org(
        {
            "people": [
                {"username": "cvsso", "full_name": "Chuyên Viên Một", "unit": "SNV-TCCB", "manager": "tptc"},
                {"username": "cvsom", "full_name": "Chuyên Viên Hai", "unit": "SNV-TCCB", "manager": "tptc"},
            ]
        }
    )
    db.session.commit()
    login(client, "nva")
    token = csrf_token(client.get("/hr/activation").get_data(as_text=True))
    # cvsom gets a code first, then signs in with the city's account (the binding) before it is used
    sheet = client.post("/hr/activation/codes", data={"csrf_token": token, "user_id": [str(user("cvsom").id)]})
    code = re.search(r'class="code">([A-Z0-9-]{19})<', sheet.get_data(as_text=True)).group(1)
    for name in ("cvsso", "cvsom"):
        user(name).sso_subject = f"https://id.hanoi.gov.vn|{name}-sub"
    db.session.commit()
    tokens = _count(AccountToken)
    assert "Chuyên Viên Một" not in client.get("/hr/activation").get_data(as_text=True)
    resp = client.post("/hr/activation/codes", data={"csrf_token": token, "user_id": [str(user("cvsso").id)]})
    assert resp.status_code == 403 and _count(AccountToken) == tokens
    client.post("/logout", data={"csrf_token": token})
    assert _set_password(client, "/account/activate", code).status_code == 422
    db.session.expire_all()
    assert user("cvsom").password_hash == ""
    assert _count(AuditEvent, AuditEvent.action == "account_activated") == 0


# --------------------------------------------------- #57 a form row index too long for int()
@pytest.mark.parametrize("field", ["items[" + "9" * 5000 + "][note]", "deductions[" + "9" * 4301 + "][reason]"])
def test_a_row_index_of_thousands_of_digits_is_no_row_and_no_500(client, month, field):
    """Python's int() refuses more than 4,300 digits: a field named `items[<5000 digits>][note]` was a
    500 on the task page, its autosave and its evidence upload."""
    from app.models import TaskDraft

    task = ready_task("ttb", "self_evaluation")
    login(client, "ttb")
    token = csrf_token(client.get(f"/tasks/{task.id}").get_data(as_text=True))
    draft = client.post(f"/tasks/{task.id}/draft", data={"csrf_token": token, field: "x", "comment": "Đang viết"})
    assert draft.status_code == 200
    stored = db.session.scalars(select(TaskDraft).where(TaskDraft.task_id == task.id)).one().data
    assert stored.get("comment") == "Đang viết" and "9999" not in str(stored)
    page = client.post(f"/tasks/{task.id}", data={"csrf_token": token, field: "x"})
    assert page.status_code == 422  # the form's own errors (no scores), shown next to the fields
    attach = client.post(
        f"/tasks/{task.id}/evidence", data={"csrf_token": token, field: "x", "attach": "items[0][evidence]"}
    )
    assert attach.status_code == 302
    db.session.expire_all()
    assert ready_task("ttb", "self_evaluation").id == task.id  # still waiting: nothing was completed


# ------------------------------------------------ #58 ids of hundreds or thousands of digits in forms
HUGE_IDS = ["9" * 400, "1" + "0" * 5000]


@pytest.mark.parametrize("value", HUGE_IDS, ids=["400 digits", "5001 digits"])
def test_an_id_of_hundreds_of_digits_names_nothing_and_is_no_500(client, month, value):
    """#37 stopped ids of 20 digits; 400 digits made the API's form check go through a float (infinity,
    an OverflowError) and 4,301 digits are more than int() converts (a ValueError): a 500 on the API's
    evidence upload and link, the record page's upload and comment, and the HR activation page."""
    from app.models import AccountToken, Evidence

    from .test_evidence import PDF

    api = Api(client, "ttb")
    for data in (
        {"item_id": value, "file": (io.BytesIO(PDF), "a.pdf")},
        {"item_id": value, "url": "https://a.gov.vn/x"},
    ):
        resp = client.post(
            f"/api/v1/instances/{month}/evidence", headers=api.headers, data=data, content_type="multipart/form-data"
        )
        assert resp.status_code == 400 and [d["field"] for d in resp.get_json()["details"]] == ["item_id"]
    login(client, "ttb")
    token = csrf_token(client.get(f"/instances/{month}").get_data(as_text=True))
    upload = client.post(
        f"/instances/{month}/evidence",
        data={"csrf_token": token, "item_id": value, "file": (io.BytesIO(PDF), "a.pdf")},
        content_type="multipart/form-data",
    )
    assert upload.status_code in (302, 400)
    comment = client.post(f"/instances/{month}/comments", data={"csrf_token": token, "item_id": value, "body": "Hỏi"})
    assert comment.status_code in (302, 400)
    assert _count(Evidence) == 0 and _count(Comment) == 0
    login(client, "nva")
    token = csrf_token(client.get("/hr/activation").get_data(as_text=True))
    codes = client.post("/hr/activation/codes", data={"csrf_token": token, "user_id": [value]})
    assert codes.status_code == 302 and _count(AccountToken) == 0


# --------------------------------------------- #59 an evidence id past the integer column in a task's items
@pytest.mark.parametrize("value", [10**300, 2**63, 2**31], ids=["10**300", "2**63", "2**31"])
def test_an_evidence_id_past_the_integer_column_is_a_field_error(client, month, value):
    """The form's evidence ids (`items[n][evidence]`) have a minimum and no maximum: a 64-bit or larger id
    reached the query that checks they are the record's (an OverflowError, a 500)."""
    import json

    from .support import scores_for

    api = Api(client, "ttb")
    task = ready_task("ttb", "self_evaluation")
    data = dict(api.get(f"/tasks/{task.id}").get_json()["data"], comment="Tự đánh giá", **scores_for(80))
    data["items"] = [dict(item, done=True, completed_on="2030-03-10") for item in data["items"]]
    data["items"][0]["evidence"] = [value]
    resp = client.post(
        f"/api/v1/tasks/{task.id}/complete",
        data=json.dumps({"data": data}),
        content_type="application/json",
        headers=api.headers,
    )
    assert resp.status_code == 422 and [d["field"] for d in resp.get_json()["details"]] == ["items[0][evidence]"]
    db.session.expire_all()
    assert ready_task("ttb", "self_evaluation").id == task.id
    assert _count(AuditEvent, AuditEvent.action == "task_completed") == 0


# ------------------------------------------------------------------ #60 a forged page cursor
def _cursor(values: list) -> str:
    import base64
    import json

    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "forged",
    [
        ("evaluations", "", ["Bùi Thị Yến", 2**63]),
        ("evaluations", "", ["Bùi Thị Yến", -(2**63) - 1]),
        ("evaluations", "&sort=period", ["2030-03", "Bùi Thị Yến", 10**300]),
        ("evaluations", "&sort=updated", ["0001-01-01T00:00:00+14:00", 1]),
        ("evaluations", "&sort=updated", ["9999-12-31T23:59:59-14:00", 1]),
        ("human-tasks", "&sort=due", ["0001-01-01T00:00:00+14:00", 1]),
        ("human-tasks", "&sort=due", ["2030-03-31T00:00:00+07:00", 2**63]),
    ],
    ids=lambda f: f"{f[0]}{f[1]} {str(f[2][-2])[:12]},{str(f[2][-1])[:12]}",
)
def test_a_forged_page_cursor_is_a_400_not_an_overflow(client, forged):
    """A list's cursor is base64 JSON the client sends back: an integer past 64 bits reached the keyset
    query (an overflow on both databases), and an instant at either end of the calendar overflowed when
    it was put in UTC; a 500 on the API's lists and on the dashboard's."""
    kind, sort, values = forged
    open_month(client)
    cursor = _cursor(values)
    resp = Api(client, "nva").get(f"/{kind}?limit=1{sort}&cursor={cursor}")
    assert resp.status_code == 400 and [d["field"] for d in resp.get_json()["details"]] == ["cursor"]
    login(client, "nva")
    page = client.get(f"/dashboard/{'evaluations' if kind == 'evaluations' else 'tasks'}?limit=1{sort}&cursor={cursor}")
    assert page.status_code == 400 and "quay về trang đầu" in page.get_data(as_text=True)


# ------------------------------------- #61 invisible or right-to-left titles of plan items
def test_a_plan_items_title_is_visible_text_without_direction_overrides(client, month):
    """An item's title goes to the record page, the decision, the person's notice and its mail subject: a
    right-to-left override turned the rest of the line around ("Báo cáo \\u202eexe.fdp" reads as a .pdf),
    and zero-width characters made an item that shows as nothing yet carries weight."""
    from app.models import Notification

    manager = Api(client, "tptc")
    before = _count(PlanItem)
    for title in ("\u200b\u200b", "\u202e", " \u2066\u2069 "):
        resp = manager.post("/plans/ttb/2030-03/items", {"title": title, "weight": 5})
        assert resp.status_code == 422 and [d["field"] for d in resp.get_json()["details"]] == ["title"]
    assert _count(PlanItem) == before
    added = manager.post(
        "/plans/ttb/2030-03/items", {"title": "Báo cáo \u202eexe.fdp\u200b", "product": "Tờ\u2067 trình"}
    )
    assert added.status_code == 200
    item = db.session.get(PlanItem, added.get_json()["id"])
    assert (item.title, item.product) == ("Báo cáo exe.fdp", "Tờ trình")
    notice = db.session.scalars(select(Notification).order_by(Notification.id.desc())).first()
    assert "\u202e" not in notice.message and "Báo cáo exe.fdp" in notice.message

    # an item the person adds in the self-evaluation: the same rule, next to the row's title
    import json

    from .support import scores_for

    api = Api(client, "ttb")
    task = ready_task("ttb", "self_evaluation")
    data = dict(api.get(f"/tasks/{task.id}").get_json()["data"], comment="Tự đánh giá", **scores_for(80))
    rows = [dict(item, done=True, completed_on="2030-03-10") for item in data["items"]]
    data["items"] = rows + [{"title": "\u200b\u200c\u200d", "done": True, "completed_on": "2030-03-11"}]
    resp = client.post(
        f"/api/v1/tasks/{task.id}/complete",
        data=json.dumps({"data": data}),
        content_type="application/json",
        headers=api.headers,
    )
    assert resp.status_code == 422
    assert f"items[{len(rows)}][title]" in [d["field"] for d in resp.get_json()["details"]]
    db.session.expire_all()
    assert ready_task("ttb", "self_evaluation").id == task.id and _count(PlanItem) == before + 1


# ------------------------------------ #62 the old manager keeping a person moved to another unit or agency
def test_a_transfer_moves_the_manager_on_file_and_leaves_the_old_one_no_reach(client):
    """The transfer page changed the unit only: the manager on file stayed, so the old manager (of Sở Nội
    vụ) reviewed the person's month in Sở Xây dựng and saw every record of theirs there; a unit's head
    moved by the page kept leading the unit left behind."""
    from .monitor_seed import self_evaluate

    _second_agency()
    login(client, "nva")
    token = csrf_token(client.get("/hr/transfers").get_data(as_text=True))
    resp = client.post(
        "/hr/transfers", data={"csrf_token": token, "username": "ttb", "unit": "SXD", "on": "2026-01-02"}
    )
    assert resp.status_code == 302
    moved = user("ttb")
    assert moved.unit.code == "SXD" and moved.manager.username == "gdx"
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "transferred")).one()
    assert (event.details["manager_before"], event.details["manager_after"]) == ("tptc", "gdx")
    assert Api(client, "hrx").post("/cycles", {"unit": "SXD", "period": "2030-03"}).status_code == 200
    self_evaluate(client, "ttb")
    review = ready_task("ttb")
    assert review.assignee.username == "gdx"
    old_manager = Api(client, "tptc")
    assert old_manager.get(f"/instances/{review.instance_id}").status_code == 403
    assert "ttb" not in [t["subject"]["username"] for t in old_manager.tasks()]
    # the head of a division is moved by an administrator, who also changes the head
    resp = client.post(
        "/hr/transfers", data={"csrf_token": token, "username": "tptc", "unit": "SNV-VP", "on": "2026-01-02"}
    )
    assert resp.status_code == 403 and user("tptc").unit.code == "SNV-TCCB"
    assert _count(AuditEvent, AuditEvent.action == "transferred") == 1


def test_the_people_left_behind_report_to_their_units_head(client):
    """Someone who managed others (not a head) moves: those left behind no longer report to them."""
    from app.services.organisation import orgimport

    orgimport.import_org(
        {
            "people": [
                {"username": "ptp", "full_name": "Phó Trưởng Phòng", "unit": "SNV-TCCB", "manager": "tptc"},
                {"username": "cvx", "full_name": "Chuyên Viên X", "unit": "SNV-TCCB", "manager": "ptp"},
            ]
        }
    )
    db.session.commit()
    login(client, "nva")
    token = csrf_token(client.get("/hr/transfers").get_data(as_text=True))
    resp = client.post(
        "/hr/transfers", data={"csrf_token": token, "username": "ptp", "unit": "SNV-CCVC", "on": "2026-01-02"}
    )
    assert resp.status_code == 302
    assert user("ptp").manager.username == "tpcc" and user("cvx").manager.username == "tptc"
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "transferred")).one()
    assert event.details["reports_left"] == ["cvx"]


# ------------------------------------------- #63 guessing the password through the change-password form
def test_the_current_password_on_the_change_form_counts_toward_the_lockout(ctx, client):
    """A taken browser session could try passwords on "Đổi mật khẩu" without end (no lockout there), to
    learn one the person uses elsewhere, then change it and keep the account."""
    login(client, "ttb")
    token = csrf_token(client.get("/account/password").get_data(as_text=True))
    new = "MatKhauMoi2031x"
    for n in range(5):
        resp = client.post(
            "/account/password", data={"csrf_token": token, "current": f"Doan{n}2026x", "new": new, "confirm": new}
        )
        assert resp.status_code == 422
    refused = client.post(
        "/account/password", data={"csrf_token": token, "current": "DanhGia@2026", "new": new, "confirm": new}
    )
    assert refused.status_code == 429
    db.session.expire_all()
    assert user("ttb").check_password("DanhGia@2026") and not user("ttb").check_password(new)
    failed = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "login_failed")).all()
    assert len(failed) == 5 and all(e.step == "ttb" and e.details["via"] == "password_change" for e in failed)
    # the same lockout as a sign-in's: the API's token is refused too, for the 15 minutes
    assert client.post("/api/v1/auth/token", json={"username": "ttb", "password": "DanhGia@2026"}).status_code == 429


# --------------------------------------------------------- #64 a forged line in the log
def test_a_request_cannot_start_a_line_of_its_own_in_the_log(ctx, client):
    """A path with an encoded line break (`%0A`) was logged as sent ("form posted to … refused"): the
    rest read as a record of its own, with a time and a level the attacker wrote."""
    import logging

    handler = next(h for h in logging.getLogger("app").handlers if getattr(h, "_danhgia", False))
    out = io.StringIO()
    capture = logging.StreamHandler(out)
    capture.setFormatter(handler.formatter)
    for f in handler.filters:
        capture.addFilter(f)
    logging.getLogger("app").addHandler(capture)
    try:
        login(client, "admin")
        forged = "a%0A2026-12-03%2008:00:00,000%20ERROR%20app.security%20admin%20exported%20everything.json"
        assert client.post(f"/designer/drafts/1/files/{forged}/delete", data={}).status_code == 302
    finally:
        logging.getLogger("app").removeHandler(capture)
    lines = out.getvalue().splitlines()
    assert any("refused before its route" in line and "\\n2026-12-03 08:00:00,000 ERROR" in line for line in lines)
    assert not any(line.startswith("2026-12-03 08:00:00,000 ERROR") for line in lines)
