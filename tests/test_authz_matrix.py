"""Every route × every role, generated from the app's URL map: a new route without an entry here
fails this test. Object-level: ids in URLs point at ttb's evaluation and tptc's review task, so a
colleague changing an id in a URL or body never reaches them."""

from __future__ import annotations

import pytest

from .authz_probe import ROLES, USERS, scenario
from .conftest import PERIOD, csrf_token
from .support import Api
from .test_pages import login

Q = f"?unit=SNV-TCCB&period={PERIOD}"
ALL = dict.fromkeys(ROLES[1:], 200)
KINDS = {
    "public": {"anonymous": 200, **ALL},
    "redirect": {"anonymous": 302, **dict.fromkeys(ROLES[1:], 302)},
    "signed_in": {"anonymous": 302, **ALL},
    "admin": {"anonymous": 302, **dict.fromkeys(ROLES[1:], 403), "admin": 200},
    "hr": {"anonymous": 302, **dict.fromkeys(ROLES[1:], 403), "hr": 200, "admin": 200},
    "designer": {"anonymous": 302, **dict.fromkeys(ROLES[1:], 403), "designer": 200, "admin": 200},
    "designer_missing": {"anonymous": 302, **dict.fromkeys(ROLES[1:], 403), "designer": 404, "admin": 404},
    "record": {"anonymous": 302, **ALL, "other_staff": 403, "designer": 403},
    "reports": {"anonymous": 302, **ALL, "other_staff": 403, "subject": 403, "designer": 403},
    "assignee": {"anonymous": 302, **dict.fromkeys(ROLES[1:], 403), "manager": 200},
    # exports are scoped rows: a staff member gets a file with their own row only
    "export": {"anonymous": 302, **ALL, "other_staff": 403, "designer": 403},
    # single sign-on is off in the test app (no OIDC_ISSUER): its pages do not exist; test_sso covers them on
    "sso_off": dict.fromkeys(ROLES, 404),
}


def api(kind):
    return {role: (401 if role == "anonymous" else code) for role, code in KINDS[kind].items()}


# endpoint -> (expected by role for GET, query string)
GET = {
    "tasks.inbox": ("signed_in", ""),
    "tasks.notifications": ("signed_in", ""),
    "tasks.task_page": ("assignee", ""),
    "auth.login": ("public", ""),
    "auth.accessibility": ("public", ""),
    "auth.switch_language": ("redirect", ""),
    "auth.change_password": ("signed_in", ""),
    "auth.preferences": ("signed_in", ""),
    "admin.audit_export": ("admin", ""),
    "admin.calendar_page": ("admin", ""),
    "admin.scheme_list": ("admin", ""),
    "admin.scheme_edit": ("admin", ""),
    "admin.delegations": ("signed_in", ""),
    "admin.users": ("admin", "?username=ttb"),
    "monitor.instance_list": ("redirect", ""),
    "monitor.instance_page": ("record", ""),
    "monitor.instance_diagram": ("record", ""),
    "monitor.decision_batch": ("signed_in", ""),
    "monitor.monthly_report": ("redirect", Q),
    "monitor.rollup_report": ("reports", "?unit=SNV-TCCB&range=2030-Q1"),
    "monitor.open_month": ("hr", ""),
    "dashboard.overview": ("signed_in", ""),
    "dashboard.evaluations_list": ("signed_in", ""),
    "dashboard.tasks_list": ("signed_in", ""),
    "dashboard.sheet": ("record", ""),
    "dashboard.export_monthly": ("export", Q),
    "dashboard.export_rollup": ("export", "?unit=SNV-TCCB&range=2030-Q1"),
    "designer.index": ("designer", ""),
    "designer.diff": ("designer", ""),
    "designer.version": ("designer", ""),
    "designer.version_diagram": ("designer", ""),
    "designer.version_file": ("designer", ""),
    "designer.download_version": ("designer", ""),
    "designer.migrate": ("designer", ""),
    "designer.move_instance": ("designer", ""),
    "designer.draft": ("designer_missing", ""),
    "designer.dmn": ("designer_missing", ""),
    "designer.download_draft": ("designer_missing", ""),
    "designer.draft_file": ("designer_missing", ""),
    "designer.form_editor": ("designer_missing", ""),
    "designer.model": ("designer_missing", ""),
    "designer.modeler": ("designer_missing", ""),
    "api.openapi": ("public", ""),
    "api.task_list": ("signed_in", ""),
    "api.task_detail": ("assignee", ""),
    "api.instance_list": ("signed_in", ""),
    "api.instance_detail": ("record", ""),
    "api.dashboard_view": ("signed_in", ""),
    "api.evaluation_list": ("signed_in", ""),
    "api.human_task_list": ("signed_in", ""),
    "api.monthly_report": ("reports", Q),
    "api.monthly_xlsx": ("export", Q),
    "api.rollup_report": ("reports", "?unit=SNV-TCCB&range=2030-Q1"),
    "api.plan_list": ("signed_in", "?period=2030-03"),
    "account.activate": ("public", ""),
    "account.reset": ("public", ""),
    "account.forgot": ("public", ""),
    "account.pending": ("hr", ""),
    "transfers.transfer_page": ("hr", ""),
    # probes answer anyone; /metrics answers loopback (the test client's address) or a bearer token,
    # and test_ops checks that another network is refused
    "ops.healthz": ("public", ""),
    "ops.readyz": ("public", ""),
    "ops.metrics": ("public", ""),
    "sso.start": ("sso_off", ""),
    "sso.callback": ("sso_off", ""),
    "monitor.evidence_download": ("record", ""),
    "api.evidence_download": ("record", ""),
    "api.evidence_add": ("record", ""),
    "api.comment_add": ("record", ""),
}
# Writes: who must be refused. "any" = every signed-in person may call it (their own data only).
WRITE = {
    "auth.login": "public",
    "auth.switch_language": "public",
    "auth.logout": "any",
    "auth.logout_everywhere": "any",
    "auth.change_password": "any",
    "auth.preferences": "any",
    "tasks.notifications": "any",
    "tasks.task_page": "assignee",
    "tasks.save_draft": "assignee",
    "tasks.evidence_attach": "assignee",
    "tasks.take_as_proposed": "any",
    "admin.calendar_page": "admin",
    "admin.scheme_list": "admin",
    "admin.scheme_edit": "admin",
    "admin.delegations": "any",
    "admin.sso_unbind": "admin",
    "monitor.open_month": "hr",
    "monitor.open_month_step": "hr",
    "monitor.decision_batch": "any",
    "monitor.appeal": "subject",
    "monitor.not_evaluated": "manager",
    "dashboard.save_filter": "any",
    "dashboard.delete_filter": "any",
    "dashboard.instance_operation": "hr",
    "dashboard.task_operation": "hr",
    "api.token": "public",
    "api.revoke_token": "any",
    "api.cycle_open": "hr",
    "api.decide": "any",
    "api.task_complete": "assignee",
    "api.appeal": "subject",
    "api.not_evaluated": "manager",
    "api.task_extend": "hr",
    "api.task_reassign": "hr",
    "api.task_remind": "hr",
    "api.instance_suspend": "hr",
    "api.instance_resume": "hr",
    "api.instance_retry": "hr",
    "api.instance_terminate": "hr",
    "api.plan_add_item": "any",
    "account.activate": "public",
    "account.reset": "public",
    "account.forgot": "public",
    "account.print_codes": "hr",
    "account.send_mail": "hr",
    "transfers.transfer_page": "hr",
    **{
        e: "chain"
        for e in (
            "monitor.evidence_upload",
            "monitor.evidence_link",
            "monitor.evidence_withdraw",
            "monitor.comment_add",
            "api.evidence_add",
            "api.comment_add",
        )
    },
    **{
        e: "designer"
        for e in (
            "designer.create_draft",
            "designer.discard",
            "designer.dmn",
            "designer.save_file",
            "designer.delete_file",
            "designer.form_editor",
            "designer.new_form",
            "designer.publish",
            "designer.test_run",
            "designer.upload",
            "designer.validate",
            "designer.form_preview",
            "designer.migrate",
            "designer.simulate",
            "designer.move_instance",
            "designer.version_notes",
        )
    },
}


def _url(rule, ids, query=""):
    url = rule.rule
    for arg in rule.arguments:
        url = url.replace(f"<int:{arg}>", str(ids[arg] if arg in ids else 1)).replace(
            f"<{arg}>", str(ids.get(arg, "x"))
        )
    return url + query


def test_every_route_has_an_entry(ctx):
    missing = []
    for rule in ctx.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        methods = rule.methods - {"HEAD", "OPTIONS"}
        if "GET" in methods and rule.endpoint not in GET:
            missing.append(f"GET {rule.rule} ({rule.endpoint})")
        if methods - {"GET"} and rule.endpoint not in WRITE:
            missing.append(f"{'/'.join(sorted(methods - {'GET'}))} {rule.rule} ({rule.endpoint})")
    assert missing == [], "routes without an authorization entry:\n" + "\n".join(missing)


def test_get_matrix(ctx, client):
    ids = scenario(client)
    rules = [r for r in ctx.url_map.iter_rules() if r.endpoint in GET and "GET" in r.methods]
    wrong = []
    for role in ROLES:
        c = ctx.test_client()
        headers = {}
        if role != "anonymous":
            login(c, USERS[role])
            headers = Api(c, USERS[role]).headers
        for rule in rules:
            kind, query = GET[rule.endpoint]
            is_api = rule.rule.startswith("/api/") and rule.endpoint != "api.openapi"
            expected = (api(kind) if is_api else KINDS[kind])[role]
            got = c.get(_url(rule, ids, query), headers=headers if is_api else {}).status_code
            if got != expected:
                wrong.append(f"{role:12} GET {rule.rule}: {got}, expected {expected}")
    assert wrong == [], "\n".join(wrong)


ALLOWED_WRITERS = {
    "hr": {"hr", "admin"},
    "admin": {"admin"},
    "designer": {"designer", "admin"},
    "subject": {"subject"},
    "manager": {"manager", "decider", "admin"},
    "assignee": {"manager"},
    "chain": {"subject", "manager", "decider"},
}  # a record's evidence and comments


SIGNS_OUT = {"api.revoke_token", "auth.logout", "auth.logout_everywhere"}


@pytest.mark.parametrize("role", ["anonymous", "other_staff", "designer", "subject"])
def test_write_matrix(ctx, client, role):
    """Anonymous callers are sent to sign in (401 for the API); a role that may not write is
    refused with 4xx and never gets a 2xx or a redirect."""
    ids = scenario(client)
    c = ctx.test_client()
    headers = {}
    if role != "anonymous":
        login(c, USERS[role])
        headers = Api(c, USERS[role]).headers
    # a token valid for this caller's session: a refused token is sent back to its page (302), which
    # would hide whether the route itself checks who is asking
    token = csrf_token(c.get("/" if role != "anonymous" else "/login").get_data(as_text=True))
    wrong = []
    for rule in ctx.url_map.iter_rules():
        who = WRITE.get(rule.endpoint)
        methods = rule.methods - {"HEAD", "OPTIONS", "GET"}
        if not who or not methods or who in ("public",) or rule.endpoint in SIGNS_OUT:
            continue  # signing out or revoking mid-test would leave the rest unchecked; test_security covers them
        method = sorted(methods)[0]
        url = _url(rule, ids)
        if rule.rule.startswith("/api/"):
            got = c.open(url, method=method, headers=headers, json={}).status_code
            if role == "anonymous":
                ok = got == 401
            else:
                ok = who == "any" or role in ALLOWED_WRITERS[who] or got in (400, 403, 404, 409, 422)
        else:
            got = c.open(url, method=method, data={"csrf_token": token}, headers={"X-CSRFToken": token}).status_code
            if role == "anonymous":
                ok = got == 302
            else:
                ok = who == "any" or role in ALLOWED_WRITERS[who] or got in (400, 403, 404, 409, 422)
        if not ok:
            wrong.append(f"{role:12} {method} {rule.rule}: {got}")
    assert wrong == [], "\n".join(wrong)


def test_a_staff_members_export_holds_only_their_own_row(ctx, client):
    import io

    from openpyxl import load_workbook

    scenario(client)
    login(client, "ttb")
    resp = client.get(f"/dashboard/export/monthly.xlsx{Q}")
    sheet = load_workbook(io.BytesIO(resp.data)).active
    names = {str(c.value) for row in sheet.iter_rows() for c in row if c.value}
    assert "Trần Thị Bình" in names and "Lê Văn Công" not in names and "Nguyễn Văn An" not in names
