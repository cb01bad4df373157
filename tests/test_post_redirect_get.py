"""Refused HTML forms never leave an error page at a POST address (issue 16, item 7): every form posted
to an address that has no GET sends the browser back to its page (post/redirect/get), which shows the
error next to the field it names, in the reader's language, with what was typed; a reload reads the page
and posts nothing again. Each form's refusal is checked here, and the list of POST-only addresses is
pinned so a new one is looked at."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Comment, Evidence, ProcessDraft, User

from .conftest import csrf_token
from .test_designer import new_draft
from .test_evidence import HTML, month  # noqa: F401  (the fixture)
from .test_pages import login

# The POST-only addresses of the HTML pages, and how a refusal there comes back (API and JSON endpoints
# are left out: they answer JSON). A new one fails this list until its refusal is looked at.
POST_ONLY = {
    "auth.logout": "nothing to refuse",
    "auth.logout_everywhere": "nothing to refuse",
    "account.print_codes": "stash → /hr/activation",
    "account.send_mail": "stash → /hr/activation",
    "tasks.take_as_proposed": "flash → the inbox",
    "tasks.save_draft": "JSON (autosave)",
    "tasks.evidence_attach": "stash → the task's form, next to the item's evidence",
    "monitor.open_month_step": "JSON (progress bar)",
    "monitor.not_evaluated": "flash → the record",
    "monitor.appeal": "stash → the record #appeal",
    "monitor.evidence_upload": "stash → the record #evidence",
    "monitor.evidence_link": "stash → the record #evidence",
    "monitor.evidence_withdraw": "403/404 only",
    "monitor.comment_add": "stash → the record #comments",
    "admin.sso_unbind": "stash → /admin/users, next to the confirmation (test_sso.py)",
    "dashboard.save_filter": "flash → the list",
    "dashboard.delete_filter": "404 only",
    "dashboard.instance_operation": "flash → the record #operations",
    "dashboard.task_operation": "flash → the record #waiting",
    "designer.create_draft": "404 only",
    "designer.upload": "stash → the draft",
    "designer.publish": "stash → the draft",
    "designer.discard": "referrer (global handler)",
    "designer.delete_file": "referrer (global handler)",
    "designer.new_form": "stash → the draft",
    "designer.version_notes": "flash → the version",
    "designer.validate": "JSON",
    "designer.simulate": "JSON",
    "designer.test_run": "JSON",
    "designer.form_preview": "JSON",
}


def test_every_post_only_page_address_is_accounted_for(app):
    post_only = set()
    for rule in app.url_map.iter_rules():
        methods = rule.methods - {"HEAD", "OPTIONS"}
        if "POST" in methods and "GET" not in methods and not rule.endpoint.startswith("api."):
            # another rule with the same address may answer GET (e.g. /login)
            if not any("GET" in r.methods and r.rule == rule.rule for r in app.url_map.iter_rules()):
                post_only.add(rule.endpoint)
    assert post_only == set(POST_ONLY), (post_only - set(POST_ONLY), set(POST_ONLY) - post_only)


def _back(client, resp, path: str) -> str:
    assert resp.status_code == 302, resp.status_code
    location = resp.headers["Location"]
    assert location.split("#")[0].split("?")[0].endswith(path), location
    return client.get(location).get_data(as_text=True)


def test_a_refused_upload_link_or_comment_comes_back_next_to_its_field(ctx, client, month):
    login(client, "ttb")
    token = csrf_token(client.get(f"/instances/{month}").get_data(as_text=True))
    record = f"/instances/{month}"

    page = _back(
        client,
        client.post(
            f"{record}/evidence",
            content_type="multipart/form-data",
            data={"csrf_token": token, "file": (io.BytesIO(HTML), "anh.jpg")},
        ),
        record,
    )
    assert re.search(
        r'id="evidence-file"[^>]*aria-describedby="[^"]*\bevidence-file-error\b[^"]*"[^>]*aria-invalid="true"', page
    )
    assert "Nội dung tệp không thuộc loại được nhận" in page

    page = _back(
        client,
        client.post(
            f"{record}/evidence/link",
            data={"csrf_token": token, "url": "javascript:alert(1)", "title": "Biên bản họp tổ"},
        ),
        record,
    )
    assert re.search(r'id="link-url"[^>]*value="javascript:alert\(1\)"[^>]*aria-invalid="true"', page)
    assert 'id="link-title" name="title" maxlength="200" value="Biên bản họp tổ"' in page
    assert 'id="link-url-error"' in page

    long_text = "Nội dung trao đổi " * 300  # 5,400 characters: refused as too long
    page = _back(client, client.post(f"{record}/comments", data={"csrf_token": token, "body": long_text}), record)
    assert 'id="comment-body-error"' in page and 'aria-invalid="true" aria-describedby="comment-body-error"' in page

    # in English, the error is English; a reload shows the page without it (nothing posted again)
    refused = client.post(f"{record}/comments", data={"csrf_token": token, "body": "  "})
    assert refused.status_code == 302
    en = client.get(f"{record}?lang=en").get_data(as_text=True)
    assert 'id="comment-body-error"' in en
    error = re.search(r'id="comment-body-error"[^>]*>([^<]+)<', en).group(1)
    assert not re.search(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", error, re.I), error
    again = client.get(record).get_data(as_text=True)
    assert 'id="comment-body-error"' not in again
    assert db.session.scalar(select(func.count()).select_from(Comment)) == 0
    assert db.session.scalar(select(func.count()).select_from(Evidence)) == 0


def test_a_refused_new_form_name_comes_back_on_the_draft(client):
    login(client, "admin")
    draft_id = new_draft(client)
    page = client.get(f"/designer/drafts/{draft_id}").get_data(as_text=True)
    first = client.post(
        f"/designer/drafts/{draft_id}/forms/new", data={"name": "y_kien", "csrf_token": csrf_token(page)}
    )
    assert first.status_code == 302
    page = _back(
        client,
        client.post(f"/designer/drafts/{draft_id}/forms/new", data={"name": "y_kien", "csrf_token": csrf_token(page)}),
        f"/designer/drafts/{draft_id}",
    )
    assert re.search(
        r'id="new-form-name"[^>]*value="y_kien"[^>]*aria-invalid="true" aria-describedby="new-form-name-error"', page
    )
    assert "Đã có tệp y_kien.json." in page


def test_a_refused_operation_without_a_page_goes_back_to_the_referring_page(client):
    login(client, "admin")
    draft_id = new_draft(client)
    page = client.get(f"/designer/drafts/{draft_id}").get_data(as_text=True)
    token = csrf_token(page)
    assert client.post(f"/designer/drafts/{draft_id}/discard", data={"csrf_token": token}).status_code == 302
    draft_page = f"/designer/drafts/{draft_id}"
    again = client.post(
        f"/designer/drafts/{draft_id}/discard",
        data={"csrf_token": token},
        headers={"Referer": f"http://localhost{draft_page}"},
    )
    html = _back(client, again, draft_page)
    assert "đã ban hành hoặc đã hủy" in html and 'class="flash flash-error"' in html
    assert db.session.get(ProcessDraft, draft_id).status == "discarded"
    # another site as the referrer is not followed: the error page, with its status
    elsewhere = client.post(
        f"/designer/drafts/{draft_id}/discard",
        data={"csrf_token": token},
        headers={"Referer": "https://example.org/designer/"},
    )
    assert elsewhere.status_code == 409


@pytest.mark.parametrize("endpoint", ["codes", "mail"])
def test_activation_with_nobody_chosen_says_so_on_the_list(client, endpoint):
    login(client, "nva")
    page = client.get("/hr/activation").get_data(as_text=True)
    resp = client.post(f"/hr/activation/{endpoint}", data={"csrf_token": csrf_token(page), "unit": "SNV-TCCB"})
    html = _back(client, resp, "/hr/activation")
    assert "unit=SNV-TCCB" in resp.headers["Location"]
    assert '<p class="field-error" id="pick-error" role="alert">Hãy chọn ít nhất một người.</p>' in html
    assert db.session.scalar(select(func.count()).select_from(User)) > 0


def test_refused_operations_come_back_next_to_their_fields(client):
    from .monitor_seed import instance_id, open_month, ready_task, self_evaluate

    open_month(client, "SNV-TCCB")
    self_evaluate(client, "ptd")
    task = ready_task("ptd", "review")
    login(client, "nva")
    record = f"/instances/{instance_id('ptd')}"
    token = csrf_token(client.get(record).get_data(as_text=True))
    page = _back(
        client,
        client.post(
            f"/operations/tasks/{task.id}/reassign",
            data={"csrf_token": token, "assignee": "khong-co-ai", "reason": "Theo đề nghị của phòng"},
        ),
        record,
    )
    assert re.search(rf'<details id="reassign-{task.id}-box" open>', page)
    assert re.search(
        rf'id="reassign-{task.id}" name="assignee" required value="khong-co-ai" aria-invalid="true" '
        rf'aria-describedby="reassign-{task.id}-error"',
        page,
    )
    assert 'value="Theo đề nghị của phòng"' in page and "Không tìm thấy tên đăng nhập này." in page
    page = _back(
        client,
        client.post(
            f"/operations/tasks/{task.id}/extend",
            data={"csrf_token": token, "due_date": "2030-04-30", "reason": "ngắn"},
        ),
        record,
    )
    assert re.search(rf'id="extend-reason-{task.id}"[^>]*aria-invalid="true"', page)
    assert f'id="extend-reason-{task.id}-error"' in page
    assert ready_task("ptd", "review").assignee.username == "tptc"

    login(client, "tptc")  # the manager marks a month not evaluated
    record = f"/instances/{instance_id('ttb')}"
    token = csrf_token(client.get(record).get_data(as_text=True))
    page = _back(client, client.post(f"{record}/not-evaluated", data={"csrf_token": token, "reason": "ốm"}), record)
    assert '<details id="not-evaluated" open>' in page
    assert (
        re.search(
            r'id="ne-reason" name="reason" required minlength="5" value="ốm" aria-invalid="true" '
            r'aria-describedby="ne-reason-error"',
            page,
        )
        and 'id="ne-reason-error"' in page
    )


def _flash(page: str) -> str:
    match = re.search(r'<p class="flash flash-error" role="alert">([^<]+)</p>', page)
    assert match, "no error message on the page"
    return match.group(1)


def test_an_expired_form_goes_back_to_its_page_with_the_reason_in_the_readers_language(ctx, client, month):
    """A CSRF failure (the page sat open past the session, or its token is gone) is refused like any
    form: back to the same-site page it came from, else the home page; nothing is written."""
    login(client, "ttb")
    record = f"/instances/{month}"
    client.get(record)
    referer = {"Referer": f"http://localhost{record}?tab=comments"}

    resp = client.post(f"{record}/comments", data={"csrf_token": "stale", "body": "Xin chào"}, headers=referer)
    assert resp.status_code == 302 and resp.headers["Location"] == f"{record}?tab=comments"
    assert _flash(client.get(resp.headers["Location"]).get_data(as_text=True)) == "Trang đã hết hạn, vui lòng gửi lại."

    # no token at all, from another site or with no Referer: the home page, never the other site
    for headers in (
        {"Referer": "https://evil.example/instances/1"},
        {"Referer": "http://localhost//evil.example/"},
        {},
    ):
        resp = client.post(f"{record}/comments", data={"body": "Xin chào"}, headers=headers)
        assert resp.status_code == 302 and resp.headers["Location"] == "/", (headers, resp.headers["Location"])
    client.get("/")  # reads the flashes

    # in English, English; a form posted to a page's own address (the language switch) goes back too
    client.get(f"{record}?lang=en")
    resp = client.post("/language/vi", data={"next": "/"}, headers=referer)
    assert resp.status_code == 302 and resp.headers["Location"] == f"{record}?tab=comments"
    assert _flash(client.get(resp.headers["Location"]).get_data(as_text=True)) == (
        "The page had expired, please submit again."
    )
    assert db.session.scalar(select(func.count()).select_from(Comment)) == 0

    # a script asking for JSON keeps its JSON answer
    resp = client.post(f"{record}/comments", data={"body": "x"}, headers={"Accept": "application/json", **referer})
    assert resp.status_code == 400 and resp.get_json()["error"] == "csrf"
    resp = client.post(f"{record}/comments", json={"body": "x"})
    assert resp.status_code == 400 and resp.get_json()["message_en"] == "The page had expired, please submit again."


def test_a_body_over_the_size_limit_goes_back_to_its_page_naming_the_limit(ctx, client, month, monkeypatch):
    monkeypatch.setitem(ctx.config, "EVIDENCE_MAX_FILE_MB", 1)
    login(client, "ttb")
    record = f"/instances/{month}"
    token = csrf_token(client.get(record).get_data(as_text=True))
    referer = {"Referer": f"http://localhost{record}"}
    big = b"%PDF-1.4\n" + b"0" * (1536 * 1024)  # 1.5 MB: over the 1 MB file limit (and its form's 1.25 MB)

    resp = client.post(
        f"{record}/evidence",
        content_type="multipart/form-data",
        data={"csrf_token": token, "file": (io.BytesIO(big), "lon.pdf")},
        headers=referer,
    )
    assert resp.status_code == 302 and resp.headers["Location"] == record
    assert _flash(client.get(record).get_data(as_text=True)) == "Tệp hoặc dữ liệu gửi lên vượt quá giới hạn 1 MB."

    # any other form: the request limit (2 MB), in English for an English reader; no Referer → home
    client.get(f"{record}?lang=en")
    resp = client.post(f"{record}/comments", data={"csrf_token": token, "body": "x" * (3 * 1024 * 1024)})
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    assert _flash(client.get("/").get_data(as_text=True)) == "The upload is larger than the 2 MB limit."
    assert db.session.scalar(select(func.count()).select_from(Comment)) == 0
    assert db.session.scalar(select(func.count()).select_from(Evidence)) == 0

    # the API keeps its JSON answer
    resp = client.post("/api/v1/auth/token", data="x" * (3 * 1024 * 1024), content_type="application/json")
    assert resp.status_code == 413 and resp.get_json()["error"] == "too_large"
