"""Process designers change the process in the browser (issue #6): drafts, validation findings for each
defect, safe uploads, publishing, new months on the new version while running ones keep theirs, diffs,
moving running instances (dry run, then the move), test runs, the DMN table and form editors, and the
bpmn-js modeler in Chromium.

The headline: a designer adds a step "Chi bộ góp ý" in a new lane "Chi bộ [party_cell]" with a new
form between the review and the decision, through the designer's HTTP endpoints only, publishes it,
HR opens a month and the party cell's secretary finds the new task with its generated form.
"""

from __future__ import annotations

import io
import json
import re
import time
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import func, select

from app.engine import sandbox, specs, validation
from app.extensions import db
from app.models import AuditEvent, HumanTask, Notification, ProcessDraft, ProcessInstance, ProcessVersion
from app.services.organisation import orgimport
from app.services.process_design import designer, versions
from app.services.errors import Conflict, Invalid

from .conftest import PASSWORD, PERIOD, csrf_token, user
from .support import Api, scores_for

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "designer"
BPMN = "monthly_evaluation.bpmn"
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
SECRETARY = {
    "username": "btcb",
    "full_name": "Đỗ Văn Chính",
    "email": "btcb@snv.hanoi.gov.vn",
    "unit": "SNV-VP",
    "position_group": "leader",
    "manager": "gd",
    "roles": ["party_cell"],
    "password": PASSWORD,
}


# ----------------------------------------------------------------------------------------- helpers
def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def q(tag: str) -> str:
    prefix, local = tag.split(":")
    return f"{{{NS[prefix]}}}{local}"


DEADLINE = "party_cell_comment_due = wd_deadline(period, 7, opened_at)"


def add_party_cell_step(bpmn: str, deadline_in: str = "init") -> str:
    """What the designer draws in the modeler: lane "Chi bộ [party_cell]" with a user task between
    apply_rules (the result after the review) and the decision, its form, instructions, variable and
    deadline (WD7, in the init script like the other deadlines, or in the step's own pre-script),
    with its shapes and edges."""
    root = etree.fromstring(bpmn.encode())
    process = root.find(".//bpmn:process", NS)
    laneset = process.find("bpmn:laneSet", NS)
    lane = etree.SubElement(laneset, q("bpmn:lane"), id="lane_party_cell", name="Chi bộ [party_cell]")
    etree.SubElement(lane, q("bpmn:flowNodeRef")).text = "party_cell_comment"
    if deadline_in == "init":
        init = process.find("bpmn:scriptTask[@id='init']/bpmn:script", NS)
        init.text += "\n" + DEADLINE
    task = etree.SubElement(process, q("bpmn:userTask"), id="party_cell_comment", name="Chi bộ góp ý")
    ext = etree.SubElement(task, q("bpmn:extensionElements"))
    if deadline_in == "prescript":
        etree.SubElement(ext, q("spiffworkflow:preScript")).text = DEADLINE
    props = etree.SubElement(ext, q("spiffworkflow:properties"))
    etree.SubElement(props, q("spiffworkflow:property"), name="formJsonSchemaFilename", value="party_cell_comment.json")
    # the month waits for the head's decision while the party cell comments
    etree.SubElement(props, q("spiffworkflow:property"), name="stepStatus", value="decision")
    etree.SubElement(props, q("spiffworkflow:property"), name="stepOrder", value="3")
    etree.SubElement(
        ext, q("spiffworkflow:instructionsForEndUser")
    ).text = "Chi bộ góp ý về **{{ subject.full_name }}** kỳ **{{ period }}** (tổng điểm {{ result.total }})."
    etree.SubElement(ext, q("spiffworkflow:variableName")).text = "party_cell_comment"
    etree.SubElement(task, q("bpmn:incoming")).text = "flow_apply_rules_decision"
    etree.SubElement(task, q("bpmn:outgoing")).text = "flow_party_cell_comment_decision"
    old_flow = process.find("bpmn:sequenceFlow[@id='flow_apply_rules_decision']", NS)
    old_flow.set("targetRef", "party_cell_comment")
    etree.SubElement(
        process,
        q("bpmn:sequenceFlow"),
        id="flow_party_cell_comment_decision",
        sourceRef="party_cell_comment",
        targetRef="decision",
    )
    decision = process.find("bpmn:userTask[@id='decision']", NS)
    decision.find("bpmn:incoming", NS).text = "flow_party_cell_comment_decision"
    plane = root.find(".//bpmndi:BPMNPlane", NS)
    root.find(".//bpmndi:BPMNShape[@bpmnElement='participant_monthly_evaluation']/dc:Bounds", NS).set("height", "1440")
    shape = etree.SubElement(
        plane, q("bpmndi:BPMNShape"), id="lane_party_cell_di", bpmnElement="lane_party_cell", isHorizontal="true"
    )
    etree.SubElement(shape, q("dc:Bounds"), x="130", y="1260", width="3270", height="240")
    shape = etree.SubElement(plane, q("bpmndi:BPMNShape"), id="party_cell_comment_di", bpmnElement="party_cell_comment")
    etree.SubElement(shape, q("dc:Bounds"), x="1560", y="1340", width="100", height="80")
    edge = plane.find("bpmndi:BPMNEdge[@bpmnElement='flow_apply_rules_decision']", NS)
    for wp in edge.findall("di:waypoint", NS):
        edge.remove(wp)
    for x, y in ((1720, 640), (1610, 640), (1610, 1340)):
        etree.SubElement(edge, q("di:waypoint"), x=str(x), y=str(y))
    edge = etree.SubElement(
        plane,
        q("bpmndi:BPMNEdge"),
        id="flow_party_cell_comment_decision_di",
        bpmnElement="flow_party_cell_comment_decision",
    )
    for x, y in ((1660, 1380), (1770, 1380), (1770, 1120)):
        etree.SubElement(edge, q("di:waypoint"), x=str(x), y=str(y))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode()


def login(client, username: str) -> None:
    page = client.get("/login")
    resp = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": csrf_token(page.get_data(as_text=True))},
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]


def new_draft(client, name="Thêm bước chi bộ góp ý") -> int:
    page = client.get("/designer/").get_data(as_text=True)
    resp = client.post("/designer/drafts", data={"name": name, "csrf_token": csrf_token(page)})
    assert resp.status_code == 302
    return int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[-1])


def json_token(client, draft_id: int) -> str:
    html = client.get(f"/designer/drafts/{draft_id}/modeler").get_data(as_text=True)
    return META_CSRF.search(html).group(1)


def put_file(client, draft_id, name, text, revision=None, status=200):
    token = json_token(client, draft_id)
    resp = client.put(
        f"/designer/drafts/{draft_id}/files/{name}",
        json={"text": text, "revision": revision},
        headers={"X-CSRFToken": token},
    )
    assert resp.status_code == status, resp.get_json()
    return resp.get_json()


def upload(client, draft_id, name, content: bytes):
    page = client.get(f"/designer/drafts/{draft_id}").get_data(as_text=True)
    return client.post(
        f"/designer/drafts/{draft_id}/upload",
        content_type="multipart/form-data",
        data={"csrf_token": csrf_token(page), "files": (io.BytesIO(content), name)},
    )


def refused(client, resp, draft_id) -> str:
    """A refused form of the draft page: the browser is sent back to the page (never an error page at the
    POST address), which shows the refusal once."""
    assert resp.status_code == 302, resp.status_code
    location = resp.headers["Location"]
    assert location.split("#")[0].endswith(f"/designer/drafts/{draft_id}"), location
    html = client.get(location).get_data(as_text=True)
    assert 'class="field-error' in html
    assert 'class="field-error' not in client.get(location).get_data(as_text=True)  # shown once
    return html


def publish(client, draft_id, note="Thêm bước chi bộ góp ý"):
    page = client.get(f"/designer/drafts/{draft_id}").get_data(as_text=True)
    return client.post(f"/designer/drafts/{draft_id}/publish", data={"note": note, "csrf_token": csrf_token(page)})


def add_secretary() -> None:
    orgimport.import_org({"people": [SECRETARY]})
    db.session.commit()


def party_cell_files(deadline_in: str = "init") -> dict[str, str]:
    files = versions.files_from_disk()
    files[BPMN] = add_party_cell_step(files[BPMN], deadline_in)
    files["party_cell_comment.json"] = fixture("party_cell_comment.json")
    return files


def self_evaluate(client, username):
    api = Api(client, username)
    api.complete(api.task_for(username, "self_evaluation")["id"], dict(scores_for(88), comment="Tự đánh giá"))


def review(client, reviewer, subject, total=85):
    api = Api(client, reviewer)
    api.complete(api.task_for(subject, "review")["id"], dict(scores_for(total), days_worked=21, comment="Nhận xét"))


def instance_of(username) -> ProcessInstance:
    return db.session.scalars(
        select(ProcessInstance).where(ProcessInstance.subject_id == user(username).id, ProcessInstance.period == PERIOD)
    ).one()


def counts() -> dict:
    return {
        m.__name__: db.session.scalar(select(func.count()).select_from(m))
        for m in (ProcessInstance, HumanTask, Notification, AuditEvent, ProcessVersion)
    }


# ------------------------------------------------------------------------------------ the headline
def test_a_designer_adds_a_step_with_a_new_lane_and_form_and_the_next_month_runs_it(client):
    login(client, "admin")
    draft_id = new_draft(client)
    model = client.get(f"/designer/drafts/{draft_id}/model.json").get_json()
    assert model["name"] == BPMN and "review" in model["xml"] and model["editable"]

    # the modeler saves the diagram; the form is uploaded as a file made elsewhere
    saved = put_file(client, draft_id, BPMN, add_party_cell_step(model["xml"]), revision=model["revision"])
    findings = {(f["code"], f["element"]) for f in saved["findings"] if f["severity"] == "error"}
    assert ("form_file_missing", "party_cell_comment") in findings  # the form is not there yet
    assert ("lane_role", "party_cell_comment") in findings  # and nobody holds party_cell yet
    resp = upload(client, draft_id, "party_cell_comment.json", fixture("party_cell_comment.json").encode())
    assert resp.status_code == 302

    # publishing is refused while a finding is an error
    html = refused(client, publish(client, draft_id, note="Bước chi bộ"), draft_id)
    assert "emulation" not in html and "party_cell" in html
    assert re.search(r'id="publish-note" name="note" value="Bước chi bộ"', html)  # what was typed is kept
    assert versions.latest_published().version == 1

    add_secretary()  # HR gives the party cell's secretary the named group (organisation import)
    page = client.get(f"/designer/drafts/{draft_id}").get_data(as_text=True)
    assert "Không có lỗi — có thể ban hành" in page
    resp = publish(client, draft_id)
    assert resp.status_code == 302
    db.session.expire_all()
    current = versions.latest_published()
    assert current.version == 2 and current.created_by_id == user("admin").id
    assert "party_cell_comment.json" in current.files
    assert db.session.get(ProcessDraft, draft_id).status == "published"
    assert (
        db.session.scalars(select(AuditEvent).where(AuditEvent.action == "design_published")).one().details["version"]
        == 2
    )
    assert (
        client.put(
            f"/designer/drafts/{draft_id}/files/{BPMN}",
            json={"text": "x"},
            headers={"X-CSRFToken": json_token(client, draft_id)},
        ).status_code
        == 409
    )  # immutable now

    # HR opens the month: it runs on version 2
    hr = Api(client, "nva")
    assert hr.post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD}).get_json()["started"] == 5
    assert instance_of("ttb").version_id == current.id
    self_evaluate(client, "ttb")
    review(client, "tptc", "ttb")

    secretary = Api(client, "btcb")
    task = secretary.task_for("ttb", "party_cell_comment")
    assert task["title"] == "Chi bộ góp ý" and task["due_at"].startswith("2030-04-09")  # WD7 of April 2030 (Tuesday)
    db.session.expire_all()
    assert instance_of("ttb").record.status == "decision"  # the status the added step declares
    detail = secretary.get(f"/tasks/{task['id']}").get_json()
    assert set(detail["schema"]["properties"]) == {"result", "agrees", "party_comment"}
    assert "Trần Thị Bình" in detail["instructions"]
    login(client, "btcb")
    html = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert 'name="party_comment"' in html and "Ý kiến của chi bộ" in html and 'name="agrees"' in html
    assert Api(client, "gd").tasks("decision") == []  # the decision waits for the party cell
    secretary.complete(task["id"], {"agrees": True, "party_comment": "Chi bộ thống nhất mức đề xuất."}, status=200)
    decision = Api(client, "gd").task_for("ttb", "decision")
    assert decision["step"] == "decision"
    row = db.session.scalars(select(HumanTask).where(HumanTask.step == "party_cell_comment")).one()
    assert row.lane_role == "party_cell" and row.assignee_id == user("btcb").id and row.status == "completed"


# --------------------------------------------------------------------------------- validation
DEFECTS = [
    ("defect_malformed.bpmn", "xml_syntax", None),
    ("defect_xsd.bpmn", "xsd", "ask"),
    ("defect_parse.bpmn", "parse", "classify"),
    ("defect_script_syntax.bpmn", "script", "init"),
    ("defect_script_import.bpmn", "script", "init"),
    ("defect_condition.bpmn", "condition", "flow_again_ask"),
    ("defect_timer.bpmn", "timer", "ask_deadline"),
    ("defect_lane_role.bpmn", "lane_role", "ask"),
    ("defect_no_lane.bpmn", "lane_missing", "ask"),
    ("defect_missing_form.bpmn", "form_file_missing", "ask"),
    ("defect_form_invalid.json", "form_invalid", "ask"),
    ("defect_gateway_default.bpmn", "gateway_default", "again"),
    ("defect_dmn_catchall.dmn", "dmn_catch_all", "classification"),
    ("defect_unreachable.bpmn", "unreachable", "orphan"),
    ("defect_missing_di.bpmn", "di_missing", "ask"),
    ("xxe.bpmn", "unsafe_xml", None),
    ("billion_laughs.bpmn", "unsafe_xml", None),
]


def _fixture_set(name: str) -> dict[str, str]:
    files = {"minimal.bpmn": fixture("minimal.bpmn"), "comment.json": fixture("comment.json")}
    if name.endswith(".bpmn"):
        del files["minimal.bpmn"]
        files[name] = fixture(name)
    elif name.endswith(".json"):
        files["comment.json"] = fixture(name)
    else:
        files[name] = fixture(name)
    return files


def test_the_minimal_fixture_and_the_shipped_process_have_no_errors():
    assert validation.validate(_fixture_set("comment.json")) == []
    shipped = validation.validate(_disk_files(), known_roles=versions.KNOWN_ROLES, app_forms=versions.APP_FORMS)
    assert validation.errors(shipped) == [], shipped


def _disk_files() -> dict[str, str]:
    root = Path(__file__).resolve().parents[1]
    return {
        p.name: p.read_text(encoding="utf-8")
        for p in sorted((root / "processes").glob("*.bpmn"))
        + sorted((root / "processes").glob("*.dmn"))
        + sorted((root / "forms").glob("*.json"))
    }


@pytest.mark.parametrize("name,code,element", DEFECTS, ids=[d[0] for d in DEFECTS])
def test_each_defect_is_found_with_its_element(name, code, element):
    findings = validation.validate(_fixture_set(name), known_roles=versions.KNOWN_ROLES)
    errors = [(f.code, f.element) for f in validation.errors(findings)]
    assert (code, element) in errors, errors
    assert all(f.message and f.message_en for f in findings)
    file = name if not name.endswith(".json") else "comment.json"
    assert file in {f.file for f in findings if f.code == code}


def test_the_lane_role_check_asks_the_database_for_named_groups(ctx):
    files = _fixture_set("defect_lane_role.bpmn")
    assert [f.code for f in validation.errors(versions.validate(files))] == ["lane_role"]
    orgimport.import_org({"people": [dict(SECRETARY, roles=["emulation_council"])]})
    db.session.commit()
    assert validation.errors(versions.validate(files)) == []


def test_roles_on_import_allow_named_groups_but_not_relative_roles(ctx):
    orgimport.import_org({"people": [SECRETARY]})
    assert user("btcb").has_role("party_cell")
    for bad in ("decider", "Party Cell", "x"):
        with pytest.raises(Invalid) as caught:
            orgimport.import_org({"people": [dict(SECRETARY, roles=[bad])]})
        assert "vai trò không hợp lệ" in caught.value.details[0]["message"]


def test_publishing_a_version_with_errors_is_refused(ctx):
    files = versions.files_from_disk()
    files[BPMN] = files[BPMN].replace('default="revision_no"', "")
    with pytest.raises(versions.ValidationFailed) as caught:
        versions.publish(files, note="no default")
    assert any(d["code"] == "gateway_default" and d["element"] == "revision_gateway" for d in caught.value.details)
    assert versions.latest_published().version == 1


# -------------------------------------------------------------------------------------- safety
@pytest.mark.parametrize("name", ["xxe.bpmn", "billion_laughs.bpmn"])
def test_xxe_and_billion_laughs_uploads_are_refused_with_a_clear_message(client, name):
    login(client, "admin")
    draft_id = new_draft(client)
    started = time.monotonic()
    resp = upload(client, draft_id, name, fixture(name).encode())
    assert time.monotonic() - started < 5
    html = refused(client, resp, draft_id)
    assert re.search(
        r'id="upload-files"[^>]*aria-describedby="[^"]*\bupload-files-error\b[^"]*"[^>]*aria-invalid="true"', html
    )
    assert "không được phép" in html and "DOCTYPE/ENTITY declarations are not allowed" not in html  # one language
    assert "root:" not in html  # nothing of /etc/passwd
    assert name not in db.session.get(ProcessDraft, draft_id).files
    # the modeler's save refuses it the same way, and the parser never expands entities anyway
    resp = client.put(
        f"/designer/drafts/{draft_id}/files/{BPMN}",
        json={"text": fixture(name)},
        headers={"X-CSRFToken": json_token(client, draft_id)},
    )
    assert resp.status_code == 422 and "DOCTYPE" in resp.get_json()["message_en"]
    with pytest.raises(specs.SpecError, match="không được phép"):
        specs.parse({name: fixture(name)})


def test_other_bad_uploads_are_refused(client):
    login(client, "admin")
    draft_id = new_draft(client)
    for name, content, needle in (
        ("evil.exe", b"MZ", "không hợp lệ"),
        ("x.json", b"[1, 2]", "đối tượng JSON"),
        ("x.json", b"{nope", "JSON hợp lệ"),
        ("x.bpmn", b"<a><b></a>", "XML hợp lệ"),
        ("x.dmn", "ư".encode("utf-16"), "UTF-8"),
        ("x.bpmn", b"<a>\x00</a>", "NUL"),
    ):
        assert needle in refused(client, upload(client, draft_id, name, content), draft_id), name
    big = b"{" + b'"a": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    # over the size limit: refused before the route runs, back to the draft with the limit said (PRG)
    page = client.get(f"/designer/drafts/{draft_id}").get_data(as_text=True)
    too_big = client.post(
        f"/designer/drafts/{draft_id}/upload",
        content_type="multipart/form-data",
        data={"csrf_token": csrf_token(page), "files": (io.BytesIO(big), "big.json")},
        headers={"Referer": f"http://localhost/designer/drafts/{draft_id}"},
    )
    assert too_big.status_code == 302 and f"/designer/drafts/{draft_id}" in too_big.headers["Location"]
    assert "vượt quá giới hạn" in client.get(too_big.headers["Location"]).get_data(as_text=True)
    assert "big.json" not in designer.get_draft(draft_id).files
    drafts_before = db.session.scalar(select(func.count()).select_from(ProcessDraft))
    page = client.get("/designer/").get_data(as_text=True)
    nul = client.post("/designer/drafts", data={"name": "tên\x00có NUL", "csrf_token": csrf_token(page)})
    assert nul.status_code == 400 and "NUL" in nul.get_data(as_text=True)  # the app-wide guard
    assert db.session.scalar(select(func.count()).select_from(ProcessDraft)) == drafts_before


def test_a_script_that_imports_os_is_refused_everywhere(client):
    files = versions.files_from_disk()
    files[BPMN] = files[BPMN].replace(
        "revision_count = 0\n", "revision_count = 0\nsecret = __import__('os').getcwd()\n"
    )
    found = [(f.code, f.element) for f in validation.errors(versions.validate(files))]
    assert ("script", "init") in found
    with pytest.raises(versions.ValidationFailed):
        versions.publish(files)
    for script in ("__import__('os')", "import os", "from os import path"):
        assert sandbox.check(script), script
        with pytest.raises(Exception):
            sandbox.SCRIPT_ENGINE.environment.execute(script, {})
    # the test run refuses to run it, too: the error names the element
    login(client, "admin")
    draft_id = new_draft(client)
    resp = client.post(
        f"/designer/drafts/{draft_id}/test-run.json",
        json={"subject": "ttb", "period": PERIOD, "xml": files[BPMN]},
        headers={"X-CSRFToken": json_token(client, draft_id)},
    )
    assert resp.status_code == 200 and resp.get_json()["error"]["element"] == "init"


def test_scripts_have_a_time_limit():
    env = sandbox.SCRIPT_ENGINE.environment
    for script in (
        "while True:\n    pass",
        "x = [i for i in range(10**5) for j in range(10**5)]",
        "def f():\n    while 1:\n        pass\nf()",
    ):
        started = time.monotonic()
        with pytest.raises(sandbox.ScriptTimeout):
            env.execute(script, {})
        assert time.monotonic() - started < sandbox.SCRIPT_TIME_LIMIT + 1
    for script in (
        "x = sum(range(10**9))",
        "x = 10 ** 10 ** 10",
        "x = 'a' * 10**10",
        "x = 1 << 10**10",
        "x = pow(10, 10**9)",
    ):
        with pytest.raises(ValueError):
            env.execute(script, {})
    with pytest.raises(sandbox.ScriptTimeout):
        env.evaluate("[1 for a in range(10**5) for b in range(10**5)]", {})
    ctx = {}
    env.execute("n = 0\nwhile n < 1000:\n    n += 1\nsquares = [i * i for i in range(100)]\np = 2 ** 10", ctx)
    assert ctx["n"] == 1000 and ctx["squares"][-1] == 9801 and ctx["p"] == 1024


def test_only_designers_get_in(client):
    assert client.get("/designer/").status_code == 302  # to the login page
    login(client, "nva")  # HR officer, not a designer
    assert client.get("/designer/").status_code == 403
    token = csrf_token(client.get("/").get_data(as_text=True))
    assert client.post("/designer/drafts", data={"csrf_token": token, "name": "x"}).status_code == 403
    assert client.get("/designer/versions/1/download").status_code == 403
    assert "/designer/" not in client.get("/").get_data(as_text=True)
    login(client, "admin")
    assert client.get("/designer/").status_code == 200
    assert "/designer/" in client.get("/").get_data(as_text=True)


# -------------------------------------------------------------------------------- the editors
def test_a_stale_save_is_refused_and_findings_come_back(client):
    login(client, "admin")
    draft_id = new_draft(client)
    model = client.get(f"/designer/drafts/{draft_id}/model.json").get_json()
    # the properties panel offers the record statuses a step may mean, labelled in both languages
    assert [s["status"] for s in model["step_statuses"]] == [
        "planning",
        "plan_approval",
        "self_evaluation",
        "review",
        "decision",
        "appeal",
    ]
    assert model["step_statuses"][5]["label"] == "Đang giải quyết kiến nghị" and model["step_statuses"][5]["label_en"]
    first = put_file(client, draft_id, BPMN, model["xml"].replace("Tính tổng điểm", "Tính tổng"), model["revision"])
    assert first["revision"] == model["revision"] + 1 and validation.errors([]) == []
    resp = client.put(
        f"/designer/drafts/{draft_id}/files/{BPMN}",
        json={"text": model["xml"], "revision": model["revision"]},
        headers={"X-CSRFToken": json_token(client, draft_id)},
    )
    assert resp.status_code == 409 and "tải lại" in resp.get_json()["message"]
    events = [e.details for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("design_%")))]
    assert {"draft": draft_id, "file": BPMN}.items() <= events[-1].items()
    page = client.get(f"/designer/drafts/{draft_id}").get_data(as_text=True)
    assert "Lịch sử sửa" in page and "lưu tệp" in page


def test_the_dmn_table_editor_writes_valid_dmn_and_catches_a_missing_catch_all(client):
    login(client, "admin")
    draft_id = new_draft(client)
    url = f"/designer/drafts/{draft_id}/dmn/classification.dmn"
    page = client.get(url).get_data(as_text=True)
    assert 'value="&gt;= 90"' in page and 'name="rule-3-in-0" value="-"' in page
    form = {
        "csrf_token": csrf_token(page),
        "decision": "classification",
        "revision": re.search(r'name="revision" value="(\d+)"', page).group(1),
        "hit_policy": "UNIQUE",
        "action": "save",
        "in-0-label": "Tổng điểm",
        "in-0-expression": "total",
        "out-0-label": "Xếp loại",
        "out-0-name": "score_level",
    }
    rows = [("rule_a", ">= 95", '"A"'), ("rule_b", ">= 70", '"B"'), ("rule_c", ">= 50", '"C"'), ("rule_d", "-", '"D"')]
    for i, (rid, cond, out) in enumerate(rows):
        form.update(
            {
                f"rule-{i}-id": rid,
                f"rule-{i}-position": str(i + 1),
                f"rule-{i}-in-0": cond,
                f"rule-{i}-out-0": out,
                f"rule-{i}-description": "",
            }
        )
    form["rule-3-delete"] = "1"  # drop the catch-all row
    assert client.post(url, data=form).status_code == 302
    text = db.session.get(ProcessDraft, draft_id).files["classification.dmn"]
    assert "&gt;= 95" in text and "rule_d" not in text
    findings = designer.findings(db.session.get(ProcessDraft, draft_id).files)
    assert [(f["code"], f["element"]) for f in findings if f["severity"] == "error"] == [
        ("dmn_catch_all", "classification")
    ]
    refused(client, publish(client, draft_id), draft_id)
    # add the row back (before the last row), make it the catch-all, save: the table is valid again
    page = client.get(url).get_data(as_text=True)
    assert "thiếu dòng “còn lại”" in page
    form.pop("rule-3-delete")
    form.update(
        {
            "rule-3-id": "",
            "rule-3-position": "9",
            "rule-3-in-0": "",
            "rule-3-out-0": '"D"',
            "rule-3-description": "Còn lại",
            "revision": re.search(r'name="revision" value="(\d+)"', page).group(1),
            "csrf_token": csrf_token(page),
        }
    )
    assert client.post(url, data=form).status_code == 302
    files = db.session.get(ProcessDraft, draft_id).files
    assert validation.errors(versions.validate(files)) == []
    from app.engine import dmntable

    table = dmntable.read_tables(files["classification.dmn"])[0]
    assert [r["inputs"] for r in table["rules"]] == [[">= 95"], [">= 70"], [">= 50"], ["-"]]


def test_the_form_editor_previews_the_generated_form(client):
    login(client, "admin")
    draft_id = new_draft(client)
    token = json_token(client, draft_id)
    resp = client.post(
        "/designer/forms/preview",
        json={"name": "x.json", "text": fixture("party_cell_comment.json")},
        headers={"X-CSRFToken": token},
    )
    out = resp.get_json()
    assert out["errors"] == [] and 'name="party_comment"' in out["html"] and "Ý kiến của chi bộ" in out["html"]
    out = client.post(
        "/designer/forms/preview",
        json={"name": "review.json", "text": fixture("comment.json").replace('"type": "string"', '"type": "text"')},
        headers={"X-CSRFToken": token},
    ).get_json()
    assert out["html"] == "" and "JSON Schema" in out["errors"][0]
    out = client.post(
        "/designer/forms/preview",
        json={"name": "review.json", "text": versions.files_from_disk()["review.json"]},
        headers={"X-CSRFToken": token},
    ).get_json()
    assert 'name="scores[II.1]"' in out["html"]  # criteria from the default scheme
    # create a form, edit it in the page, save it
    page = client.get(f"/designer/drafts/{draft_id}").get_data(as_text=True)
    resp = client.post(
        f"/designer/drafts/{draft_id}/forms/new", data={"name": "party_cell_comment", "csrf_token": csrf_token(page)}
    )
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/forms/party_cell_comment.json")
    page = client.get(f"/designer/drafts/{draft_id}/forms/party_cell_comment.json").get_data(as_text=True)
    assert "Xem trước" in page and 'name="comment"' in page
    resp = client.post(
        f"/designer/drafts/{draft_id}/forms/party_cell_comment.json",
        data={"text": "{not json", "action": "save", "csrf_token": csrf_token(page)},
    )
    assert resp.status_code == 422
    resp = client.post(
        f"/designer/drafts/{draft_id}/forms/party_cell_comment.json",
        data={"text": fixture("party_cell_comment.json"), "action": "save", "csrf_token": csrf_token(page)},
    )
    assert resp.status_code == 302
    assert json.loads(db.session.get(ProcessDraft, draft_id).files["party_cell_comment.json"])["required"] == [
        "party_comment"
    ]


# -------------------------------------------------------------------------- versions and runs
def test_the_diff_names_what_was_added_and_changed(client, ctx):
    add_secretary()
    v2 = versions.publish(party_cell_files(), note="chi bộ")
    db.session.commit()
    result = designer.diff(versions.files_from_disk(), v2.files)
    added = {e["id"] for e in result["elements"]["added"]}
    assert {"party_cell_comment", "lane_party_cell", "flow_party_cell_comment_decision"} <= added
    assert {"flow_apply_rules_decision", "decision", "init"} <= {e["id"] for e in result["elements"]["changed"]}
    assert result["elements"]["removed"] == []
    assert result["engine"]["added"] == ["party_cell_comment"]
    assert "apply_rules" in {c["element"] for c in result["engine"]["changed"]}
    assert {"file": "party_cell_comment.json", "status": "added"} in result["files"]
    login(client, "admin")
    v1 = versions.latest_published().version - 1
    html = client.get(
        f"/designer/diff?a={db.session.scalars(select(ProcessVersion.id).where(ProcessVersion.version == v1)).one()}"
        f"&b={v2.id}"
    ).get_data(as_text=True)
    assert "party_cell_comment" in html and "Chi bộ góp ý" in html


def test_a_test_run_shows_the_path_and_writes_nothing(client):
    add_secretary()
    login(client, "admin")
    draft_id = new_draft(client)
    xml = add_party_cell_step(client.get(f"/designer/drafts/{draft_id}/model.json").get_json()["xml"])
    put_file(
        client, draft_id, "party_cell_comment.json", fixture("party_cell_comment.json")
    )  # the diagram stays unsaved
    before = counts()
    token = json_token(client, draft_id)
    resp = client.post(
        f"/designer/drafts/{draft_id}/test-run.json",
        json={"subject": "ttb", "period": PERIOD, "xml": xml},
        headers={"X-CSRFToken": token},
    )
    out = resp.get_json()
    assert resp.status_code == 200 and out["error"] is None and out["completed"], out
    path = out["completed_elements"]
    for earlier, later_step in (
        ("start", "self_evaluation"),
        ("self_evaluation", "review"),
        ("review", "party_cell_comment"),
        ("party_cell_comment", "decision"),
        ("decision", "publish"),
        ("publish", "lock"),
    ):
        assert path.index(earlier) < path.index(later_step), path
    assert "appeal_window_closed" in path and path[-1] == "end"
    party = [a for a in out["answers"] if a["step"] == "party_cell_comment"][0]
    assert party["assignee"] == "Đỗ Văn Chính" and party["role"] == "party_cell" and not party.get("errors")
    assert out["data"]["result"]["level"] in ("A", "B", "C", "D")
    assert {"kind": "published", "step": "publish"} in out["notifications"]
    db.session.expire_all()
    assert counts() == before
    # let the self-evaluation deadline pass: the path goes through the overdue branch
    out = client.post(
        f"/designer/drafts/{draft_id}/test-run.json",
        json={"subject": "ttb", "period": PERIOD, "answers": {"self_evaluation": None}},
        headers={"X-CSRFToken": token},
    ).get_json()
    assert (
        "self_evaluation_overdue" in out["completed_elements"]
        and "self_evaluation_total" not in out["completed_elements"]
    )
    assert "self_evaluation_remind" in out["completed_elements"]  # the reminder fired first
    assert counts() == before


def test_running_instances_keep_their_version_and_move_after_a_dry_run(client):
    hr = Api(client, "nva")
    assert hr.post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD}).get_json()["started"] == 5
    v1 = versions.latest_published()
    # ttb stays at the self-evaluation, nva reaches the review, lvc the decision
    self_evaluate(client, "nva")
    self_evaluate(client, "lvc")
    review(client, "tptc", "lvc")
    add_secretary()
    # version 2 sets the new step's deadline in the init script, which every instance has already run:
    # none may move (its new deadline variable would never be set)
    v2 = versions.publish(party_cell_files("init"), note="chi bộ, hạn trong bước khởi tạo")
    db.session.commit()
    assert {i.version_id for i in db.session.scalars(select(ProcessInstance))} == {v1.id}  # nobody moved by itself
    plan = designer.migration_plan(v2.id)
    assert len(plan) == 5 and not any(p["can_move"] for p in plan)
    assert all("init" in p["blocking"] for p in plan)
    # version 3 sets it in the step's own pre-script: instances before apply_rules may move
    v2 = versions.publish(party_cell_files("prescript"), note="chi bộ, hạn trong lệnh trước bước")
    db.session.commit()
    plan = {p["instance"].subject.username: p for p in designer.migration_plan(v2.id)}
    assert plan["ttb"]["can_move"] and plan["nva"]["can_move"], (plan["ttb"]["reasons"], plan["nva"]["reasons"])
    assert not plan["lvc"]["can_move"]
    assert "apply_rules" in plan["lvc"]["blocking"]
    assert any("đã bị sửa" in r["message"] for r in plan["lvc"]["reasons"])

    login(client, "admin")
    page = client.get(f"/designer/versions/{v2.id}/migrate").get_data(as_text=True)
    assert f'data-instance="{instance_of("lvc").id}" data-can-move="no"' in page
    before_tasks = {t.task_uuid for t in db.session.scalars(select(HumanTask).where(HumanTask.status == "ready"))}
    ids = [str(instance_of(u).id) for u in ("ttb", "nva")]
    resp = client.post(f"/designer/versions/{v2.id}/migrate", data={"instance": ids, "csrf_token": csrf_token(page)})
    assert resp.status_code == 200 and "đã chuyển từ phiên bản 1 sang 3" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert instance_of("ttb").version_id == v2.id and instance_of("nva").version_id == v2.id
    assert instance_of("lvc").version_id == v1.id
    moved = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "migrated")).all()
    assert {(e.instance_id, e.details["from_version"], e.details["to_version"]) for e in moved} == {
        (instance_of("ttb").id, 1, 3),
        (instance_of("nva").id, 1, 3),
    }
    assert all(e.actor_id == user("admin").id for e in moved)
    # the ready tasks are the same tasks (same ids, nobody re-notified)
    assert {
        t.task_uuid for t in db.session.scalars(select(HumanTask).where(HumanTask.status == "ready"))
    } == before_tasks
    # refused directly too, and moving again is refused
    with pytest.raises(Conflict, match="không chuyển được"):
        designer.migrate_instance(instance_of("lvc").id, v2.id, user("admin"))
    db.session.rollback()
    with pytest.raises(Conflict, match="phiên bản mới hơn"):
        designer.migrate_instance(instance_of("ttb").id, v2.id, user("admin"))
    db.session.rollback()

    # the moved instance gets the new step, the one that stayed finishes on version 1
    review(client, "tptc", "nva")
    secretary = Api(client, "btcb")
    task = secretary.task_for("nva", "party_cell_comment")
    assert task["due_at"].startswith("2030-04-09")  # the pre-script set the deadline
    secretary.complete(task["id"], {"party_comment": "Thống nhất."})
    assert Api(client, "gd").task_for("nva", "decision")
    assert Api(client, "gd").task_for("lvc", "decision")
    self_evaluate(client, "ttb")
    review(client, "tptc", "ttb")
    assert secretary.task_for("ttb", "party_cell_comment")
    # a new month starts on version 2
    assert designer.overview()["versions"][0]["state"] == "current"


def test_the_pages_render(client):
    login(client, "admin")
    draft_id = new_draft(client)
    for url in (
        "/designer/",
        f"/designer/drafts/{draft_id}",
        f"/designer/drafts/{draft_id}/modeler",
        f"/designer/drafts/{draft_id}/dmn/classification.dmn",
        f"/designer/drafts/{draft_id}/forms/review.json",
        "/designer/diff",
        f"/designer/versions/{versions.latest_published().id}/migrate",
    ):
        resp = client.get(url)
        assert resp.status_code == 200, url
    page = client.get(f"/designer/versions/{versions.latest_published().id}").get_data(as_text=True)
    assert "Phiên bản 1 — đang dùng" in page and "monthly_evaluation.bpmn" in page
    resp = client.get(f"/designer/versions/{versions.latest_published().id}/download")
    assert resp.mimetype == "application/zip"
    import zipfile

    names = zipfile.ZipFile(io.BytesIO(resp.data)).namelist()
    assert "processes/monthly_evaluation.bpmn" in names and "forms/review.json" in names
    assert (
        client.get(f"/designer/drafts/{draft_id}/files/{BPMN}").headers["Content-Disposition"].startswith("attachment")
    )


# ------------------------------------------------------------------------------------- browser
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"


def assert_accessible(page, base_url: str, exclude: str | None = None) -> None:
    """axe-core, WCAG 2 A/AA: no serious or critical violation (the bpmn-js canvas is its own widget)."""
    page.add_script_tag(url=f"{base_url}/static/vendor/axe.min.js")
    context = "{exclude: [[%s]]}" % json.dumps(exclude) if exclude else "document"
    result = page.evaluate("() => axe.run(%s, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}})" % context)
    bad = [
        (v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]][:5])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"axe on {page.url}: {bad}"


@pytest.mark.browser
def test_the_modeler_loads_the_diagram_edits_it_and_saves_it(ctx):
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    from .live_server import LiveServer, fresh_session

    add_secretary()
    admin = user("admin")
    draft = designer.create_draft(admin, name="Sửa trong trình duyệt")
    draft_id = draft.id
    files = dict(draft.files)
    files["party_cell_comment.json"] = fixture("party_cell_comment.json")
    designer.save_file(draft_id, "party_cell_comment.json", files["party_cell_comment.json"], admin)
    fresh_session()
    with LiveServer(ctx) as server, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(
            base_url=server.url,
            locale="vi-VN",
            timezone_id="Asia/Ho_Chi_Minh",
            viewport={"width": 1440, "height": 1000},
        )
        context.set_default_timeout(15_000)
        page = context.new_page()
        js_errors, csp = [], []
        page.on("pageerror", lambda exc: js_errors.append(str(exc)))
        page.on("console", lambda msg: csp.append(msg.text) if "Content Security Policy" in msg.text else None)
        page.goto("/login")
        page.get_by_label("Tên đăng nhập").fill("admin")
        page.get_by_label("Mật khẩu").fill(PASSWORD)
        page.get_by_role("button", name="Đăng nhập").click()
        page.get_by_role("link", name="Quy trình").click()
        expect(page.get_by_role("heading", name="Mô hình quy trình")).to_be_visible()
        page.goto(f"/designer/drafts/{draft_id}")
        assert_accessible(page, server.url)
        page.get_by_role("link", name="Sửa sơ đồ").click()

        app = page.locator("#modeler-app")
        expect(app).to_have_attribute("data-loaded", "true")
        for element in ("self_evaluation", "review", "decision", "lane_decider", "revision_gateway"):
            expect(page.locator(f'#canvas [data-element-id="{element}"]')).to_have_count(1)
        expect(page.locator("#findings-summary")).to_contain_text("Không có lỗi")
        expect(page.locator(".djs-palette")).to_be_visible()  # the modeler, not the viewer
        assert_accessible(page, server.url, exclude="#canvas")

        # select the decision task: the panel shows what the app reads, edit the instructions and the deadline
        page.locator('#canvas [data-element-id="decision"]').click()
        panel = page.locator("#properties")
        expect(panel.get_by_label("Biểu mẫu (formJsonSchemaFilename)")).to_have_value("decision.json")
        expect(panel.get_by_label("Lưu kết quả vào biến (variableName)")).to_have_value("decision")
        expect(panel.get_by_label("Hạn: ngày làm việc thứ N của tháng sau kỳ")).to_have_value("8")
        panel.get_by_label("Hướng dẫn cho người xử lý (instructionsForEndUser)").fill(
            "Thủ trưởng quyết định xếp loại kỳ **{{ period }}**."
        )
        panel.get_by_label("Hướng dẫn cho người xử lý (instructionsForEndUser)").blur()
        panel.get_by_label("Hạn: ngày làm việc thứ N của tháng sau kỳ").fill("9")
        panel.get_by_label("Hạn: ngày làm việc thứ N của tháng sau kỳ").blur()
        expect(page.locator("#save-status")).to_contain_text("chưa lưu")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "designer-user-task.png"))

        # the lane's role: a named group, written into the lane name
        page.locator('#canvas [data-element-id="lane_decider"] rect.djs-hit-all').click()  # the lane's label stripe
        expect(panel.get_by_label("Vai trò xử lý các bước trong làn")).to_have_value("decider")
        panel.get_by_label("Tên nhóm").fill("party_cell")
        panel.get_by_label("Tên nhóm").blur()
        expect(panel.get_by_label("Vai trò xử lý các bước trong làn")).to_have_value("party_cell")
        panel.get_by_label("Vai trò xử lý các bước trong làn").select_option("decider")  # and back

        # a new step between apply_rules and the decision: a task from the palette dropped on the flow between
        # them (bpmn-js splits the flow), named, turned into a user task with the context pad's wrench
        box = page.locator('#canvas g.djs-connection[data-element-id="flow_apply_rules_decision"]').bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.locator('.djs-palette [data-action="create.task"]').click()
        page.mouse.move(x - 40, y, steps=4)
        page.mouse.move(x, y, steps=4)
        page.mouse.click(x, y)
        page.keyboard.type("Chi bộ góp ý")
        page.keyboard.press("Enter")  # ends the label editing
        page.locator('.djs-context-pad [data-action="replace"]').click()
        page.locator('.djs-popup [data-id="replace-with-user-task"]').click()
        expect(panel.locator(".pp-id")).to_contain_text("UserTask")
        new_id = panel.locator(".pp-id code").inner_text()
        expect(panel.get_by_label("Tên", exact=True)).to_have_value("Chi bộ góp ý")
        expect(page.locator('#canvas g.djs-connection[data-element-id="flow_apply_rules_decision"]')).to_have_count(1)
        panel.get_by_label("Biểu mẫu (formJsonSchemaFilename)").select_option("party_cell_comment.json")
        panel.get_by_label("Hướng dẫn cho người xử lý (instructionsForEndUser)").fill(
            "Chi bộ góp ý trước khi quyết định."
        )
        panel.get_by_label("Hướng dẫn cho người xử lý (instructionsForEndUser)").blur()
        panel.get_by_label("Lưu kết quả vào biến (variableName)").fill("party_cell_comment")
        panel.get_by_label("Lưu kết quả vào biến (variableName)").blur()
        panel.get_by_label("Hạn: ngày làm việc thứ N của tháng sau kỳ").fill("7")
        panel.get_by_label("Hạn: ngày làm việc thứ N của tháng sau kỳ").blur()
        expect(panel.get_by_label("Hạn: ngày làm việc thứ N của tháng sau kỳ")).to_have_value("7")
        # what the step means to the application: the status from the list, its number
        status = panel.get_by_label("Trạng thái hồ sơ khi bước đang mở (stepStatus)")
        expect(status.locator("option")).to_have_count(
            7
        )  # none + the six statuses a step may mean (two of the work plan)
        status.select_option("decision")
        panel.get_by_label("Số thứ tự bước (stepOrder)").fill("x")
        expect(panel.get_by_text("Số nguyên từ 1 đến 99")).to_be_visible()
        panel.get_by_label("Số thứ tự bước (stepOrder)").fill("3")
        panel.get_by_label("Số thứ tự bước (stepOrder)").blur()
        page.locator("#btn-save").click()
        expect(app).to_have_attribute("data-saved-revision", re.compile(r"\d+"))
        expect(page.locator("#save-status")).to_contain_text("Đã lưu")
        page.screenshot(path=str(SHOTS / "designer-modeler.png"), full_page=True)

        # a test run of the saved diagram: the path is drawn on it
        page.get_by_role("button", name="Chạy thử", exact=True).click()
        expect(app).to_have_attribute("data-test-run-done", "true")
        expect(page.locator("#test-run-summary")).to_contain_text("chạy hết")
        expect(page.locator('#test-run-path li[data-element="decision"]')).to_have_count(1)
        expect(page.locator(f'#test-run-path li[data-element="{new_id}"]')).to_contain_text("Chi bộ góp ý")
        expect(page.locator('#canvas g.done[data-element-id="decision"]')).to_have_count(1)
        page.screenshot(path=str(SHOTS / "designer-test-run.png"), full_page=True)

        # a finding shows on the diagram: remove the default flow of the revision gateway
        page.locator('#canvas [data-element-id="revision_gateway"]').click()
        panel.get_by_label("Nhánh mặc định (khi không điều kiện nào đúng)").select_option("")
        page.get_by_role("button", name="Kiểm tra", exact=True).click()
        expect(page.locator('.finding-badge.error[data-element="revision_gateway"]')).to_have_count(1)
        expect(page.locator("#findings-list")).to_contain_text("revision_gateway")
        page.screenshot(path=str(SHOTS / "designer-finding.png"), full_page=True)

        # the DMN table and the form editor with its live preview
        page.once("dialog", lambda dialog: dialog.accept())
        page.goto(f"/designer/drafts/{draft_id}/dmn/classification.dmn")
        expect(page.locator("#dmn-app")).to_have_attribute("data-loaded", "true")
        expect(page.get_by_label("Dòng 1, điều kiện 1")).to_have_value(">= 90")
        assert_accessible(page, server.url)
        page.screenshot(path=str(SHOTS / "designer-dmn.png"), full_page=True)
        page.goto(f"/designer/drafts/{draft_id}/forms/party_cell_comment.json")
        expect(page.locator("#form-preview")).to_contain_text("Ý kiến của chi bộ")
        text = page.locator("#schema-text")
        text.fill(text.input_value().replace("Ý kiến của chi bộ", "Góp ý của chi bộ"))
        expect(page.locator("#form-preview")).to_contain_text("Góp ý của chi bộ")
        assert_accessible(page, server.url)
        page.screenshot(path=str(SHOTS / "designer-form.png"), full_page=True)
        assert not js_errors, js_errors
        assert not csp, csp
        context.close()
        browser.close()
    fresh_session()
    saved = db.session.get(ProcessDraft, draft_id).files[BPMN]
    assert "Thủ trưởng quyết định xếp loại kỳ **{{ period }}**." in saved
    assert "decision_due = wd_deadline(period, 9, opened_at)" in saved
    assert 'name="Thủ trưởng đơn vị [decider]"' in saved
    assert 'formJsonSchemaFilename" value="decision.json"' in saved and "<spiffworkflow:variableName>decision<" in saved
    assert "calledDecisionId>classification<" in saved and "messageVariable>appeal<" in saved
    root = etree.fromstring(saved.encode())
    added = root.find(f".//bpmn:userTask[@id='{new_id}']", NS)
    assert added.get("name") == "Chi bộ góp ý"
    assert (
        added.find(".//spiffworkflow:property[@name='formJsonSchemaFilename']", NS).get("value")
        == "party_cell_comment.json"
    )
    assert added.find(".//spiffworkflow:instructionsForEndUser", NS).text == "Chi bộ góp ý trước khi quyết định."
    assert added.find(".//spiffworkflow:variableName", NS).text == "party_cell_comment"
    assert added.find(".//spiffworkflow:property[@name='stepStatus']", NS).get("value") == "decision"
    assert added.find(".//spiffworkflow:property[@name='stepOrder']", NS).get("value") == "3"
    assert f"{new_id}_due = wd_deadline(period, 7, opened_at)" in saved
    loaded = specs.parse({**db.session.get(ProcessDraft, draft_id).files})  # the saved XML still runs
    assert loaded[0].task_specs[new_id].extensions["properties"]["formJsonSchemaFilename"] == "party_cell_comment.json"
    assert loaded[0].task_specs[new_id].lane == "Thủ trưởng đơn vị [decider]"  # dropped in the decider's lane
    assert [s.name for s in loaded[0].task_specs["apply_rules"].outputs] == [new_id]
    assert [s.name for s in loaded[0].task_specs[new_id].outputs] == ["decision.BoundaryEventSplit"]
    assert validation.errors(versions.validate(db.session.get(ProcessDraft, draft_id).files)) == []
