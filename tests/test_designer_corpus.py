"""Foreign diagrams (tests/fixtures/corpus, written by make_corpus.py): every BPMN element type the
app does not run, events it never sends or catches, broken XML, other encodings, a renamed process,
DMN variants. Each goes through the designer's HTTP endpoints as a designer would use them: upload
(replacing the shipped process), the draft page, the modeler's model, validate, test run, simulate,
publish. Never an HTTP 500; each case that cannot run is refused with its element and a reason, and
cannot be published."""

from __future__ import annotations

import json
from pathlib import Path

from app.models import ProcessVersion
from app.extensions import db
from sqlalchemy import func, select

from .conftest import PERIOD
from .test_designer import json_token, login, new_draft, publish, upload

CORPUS = Path(__file__).resolve().parent / "fixtures" / "corpus"
EXPECTED = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))
# findings about a whole file that cannot be read as a diagram (the form's own finding is repeated on
# every task that uses it)
FILE_LEVEL = {"xml_syntax", "unsafe_xml", "no_bpmn", "form_invalid"}
COMMENT = (Path(__file__).resolve().parent / "fixtures" / "designer" / "comment.json").read_bytes()


def _versions() -> int:
    return db.session.scalar(select(func.count()).select_from(ProcessVersion))


def test_every_foreign_diagram_is_answered_without_a_500_and_refused_with_its_element(client):
    login(client, "admin")
    problems = []
    current_version = db.session.scalar(select(func.max(ProcessVersion.id)))
    for case, expected in EXPECTED.items():
        outcome = expected["outcome"]
        draft_id = new_draft(client, case)
        assert upload(client, draft_id, "comment.json", COMMENT).status_code == 302
        statuses = {}
        resp = upload(client, draft_id, "monthly_evaluation.bpmn", (CORPUS / expected["bpmn"]).read_bytes())
        statuses["upload"] = resp.status_code
        if "dmn" in expected:
            resp = upload(client, draft_id, "pick.dmn", (CORPUS / expected["dmn"]).read_bytes())
            statuses["upload_dmn"] = resp.status_code
        # a refused upload also answers 302 (back to the draft, post/redirect/get): what counts is what is stored
        stored = client.get(f"/designer/drafts/{draft_id}/files/monthly_evaluation.bpmn").get_data()
        uploaded = stored == (CORPUS / expected["bpmn"]).read_bytes() and (
            "dmn" not in expected
            or client.get(f"/designer/drafts/{draft_id}/files/pick.dmn").get_data()
            == (CORPUS / expected["dmn"]).read_bytes()
        )
        statuses["draft"] = client.get(f"/designer/drafts/{draft_id}").status_code
        model = client.get(f"/designer/drafts/{draft_id}/model.json")
        statuses["model"] = model.status_code
        # every page of the designer that shows the draft: the modeler, its tables and forms, the comparison
        statuses["modeler"] = client.get(f"/designer/drafts/{draft_id}/modeler").status_code
        if "dmn" in expected:
            statuses["dmn_page"] = client.get(f"/designer/drafts/{draft_id}/dmn/pick.dmn").status_code
        statuses["form_page"] = client.get(f"/designer/drafts/{draft_id}/forms/comment.json").status_code
        statuses["diff"] = client.get(f"/designer/diff?a={current_version}&b=d{draft_id}").status_code
        token = json_token(client, draft_id) if statuses["draft"] == 200 else ""
        headers = {"X-CSRFToken": token}
        validate = client.post(f"/designer/drafts/{draft_id}/validate.json", json={}, headers=headers)
        statuses["validate"] = validate.status_code
        statuses["test_run"] = client.post(
            f"/designer/drafts/{draft_id}/test-run.json", json={"subject": "ttb", "period": PERIOD}, headers=headers
        ).status_code
        simulated = client.post(f"/designer/drafts/{draft_id}/simulate.json", json={}, headers=headers)
        statuses["simulate"] = simulated.status_code
        before = _versions()
        statuses["publish"] = publish(client, draft_id, case).status_code
        db.session.expire_all()
        published = _versions() > before
        if any(s >= 500 for s in statuses.values()):
            problems.append((case, "HTTP 500", statuses))
            continue
        findings = simulated.get_json()["findings"]
        errors = [(f["code"], f["element"]) for f in findings if f["severity"] == "error"]
        if outcome == "upload":
            if uploaded:
                problems.append((case, "upload accepted", statuses))
        elif outcome == "ok":
            if errors or not published:
                problems.append((case, "refused", errors, statuses))
        elif outcome == "any":
            if errors and published:
                problems.append((case, "published with errors", errors))
        else:
            code, element = outcome
            if (code, element) not in errors:
                problems.append((case, "missing finding", outcome, errors))
            # refused: nothing published, the designer sent back to the draft with the findings (PRG)
            if published or statuses["publish"] != 302:
                problems.append((case, "published", statuses))
            if not all(f["message"] and f["message_en"] for f in findings):
                problems.append((case, "finding without words", findings))
        # every error names its element (drawn on the diagram), parse errors included; only a file
        # that is not XML at all has no element to name
        unplaced = [
            f["code"] for f in findings if f["severity"] == "error" and not f["element"] and f["code"] not in FILE_LEVEL
        ]
        if unplaced:
            problems.append((case, "error without its element", unplaced))
    assert problems == []


def test_ids_beyond_the_database_integers_are_not_found_never_a_500(client):
    """PostgreSQL refuses an id over 2³¹−1 with an overflow: every id the designer reads from a path,
    a query string or a form is bounded first."""
    from .conftest import csrf_token

    login(client, "admin")
    big = "99999999999999999999"
    current = db.session.scalar(select(func.max(ProcessVersion.id)))
    statuses = {}
    for path in (
        f"/designer/versions/{big}",
        f"/designer/instances/{big}/move",
        f"/designer/drafts/{big}",
        f"/designer/versions/{big}/migrate",
        f"/designer/diff?a={big}&b=d{big}",
        f"/designer/diff?a={current}&b={big}",
        f"/designer/diff?a={current}&b=d{big}",
    ):
        statuses[path] = client.get(path).status_code
    page = client.get(f"/designer/versions/{current}/migrate").get_data(as_text=True)
    token = csrf_token(page)
    statuses["migrate"] = client.post(
        f"/designer/versions/{current}/migrate", data={"instance": [big], "csrf_token": token}
    ).status_code
    resp = client.post(
        f"/designer/versions/{current}/migrate",
        headers={"Accept": "application/json"},
        data={"instance": [big], "done": big, "total": big, "csrf_token": token},
    )
    statuses["migrate_batch"] = resp.status_code
    assert resp.get_json() == {"results": []}
    statuses["new_draft"] = client.post(
        "/designer/drafts", data={"base_version_id": big, "csrf_token": token}
    ).status_code
    assert all(s < 500 for s in statuses.values()), statuses
    assert statuses[f"/designer/drafts/{big}"] == 404 and statuses["new_draft"] == 404


def test_odd_payloads_to_the_json_endpoints_are_answered_never_a_500(client):
    login(client, "admin")
    draft_id = new_draft(client, "payloads")
    headers = {"X-CSRFToken": json_token(client, draft_id)}
    bodies = [
        [],
        "x",
        1,
        {"subject": ["ttb"]},
        {"subject": "ttb", "period": "9999-99"},
        {"subject": "ttb", "period": {"a": 1}},
        {"subject": "ttb", "answers": []},
        {"subject": "ttb", "answers": {"self_evaluation": "x"}},
        {"subject": "ttb", "answers": {"self_evaluation": [1, 2]}},
        {"subject": "ttb", "answers": {"self_evaluation": {"scores": "x"}}},
        {"subject": "ttb", "answers": {"self_evaluation": None, "review": None, "decision": None}},
        {"subject": "ttb", "answers": {"review": {"scores": {"a": 1e308}}}},
        {"subject": "ttb", "xml": 5},
        {"subject": "ttb", "xml": "<x/>"},
        {"subject": "ttb", "xml": ""},
        {"subject": "ttb", "xml": "<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>"},
        {"xml": "<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL'/>"},
    ]
    bad = []
    for endpoint, cases in (
        ("test-run.json", bodies),
        ("validate.json", bodies),
        ("simulate.json", [b for b in bodies if not isinstance(b, dict) or "xml" in b]),
    ):
        url = f"/designer/drafts/{draft_id}/{endpoint}"
        resp = client.post(url, data="{{{", headers=dict(headers, **{"Content-Type": "application/json"}))
        if resp.status_code >= 500:
            bad.append((endpoint, "not JSON", resp.status_code))
        for body in cases:
            resp = client.post(url, json=body, headers=headers)
            if resp.status_code >= 500:
                bad.append((endpoint, body, resp.status_code))
    assert bad == []
