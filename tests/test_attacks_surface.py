"""Attacks on the surface added with evidence, comments, work plans, activation and the HR pages: each
test failed (a 500, or a change that should have been refused) before its fix. docs/security.md lists them."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AccountToken, AuditEvent, Evidence

from .conftest import PERIOD, csrf_token
from .support import Api
from .test_evidence import PDF, PNG, _upload, month  # noqa: F401 — fixture
from .test_pages import login
from .test_sso import _consent, _person, _signed_in_as, _to_provider, city, provider  # noqa: F401 — fixtures

# "²" and "٣" are digits to str.isdigit() but int() refuses them; the long one overflows the integer column
HOSTILE_IDS = ["²", "٣", "99999999999999999999", "-1", "1.0", " "]


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


@pytest.mark.parametrize("replaces", HOSTILE_IDS)
def test_a_hostile_replaces_id_on_the_record_page_is_a_404_and_stores_nothing(ctx, client, month, replaces):
    login(client, "ttb")
    token = csrf_token(client.get(f"/instances/{month}").get_data(as_text=True))
    resp = client.post(
        f"/instances/{month}/evidence",
        content_type="multipart/form-data",
        data={"csrf_token": token, "replaces": replaces, "file": (io.BytesIO(PDF), "a.pdf")},
    )
    assert resp.status_code == (302 if replaces == " " else 404)  # blank: no replacement asked
    assert _count(Evidence, Evidence.instance_id == month) == (1 if replaces == " " else 0)


def test_only_the_uploader_replaces_a_file(ctx, client, month):
    mine = _upload(Api(client, "ttb"), month, PDF, "bien-ban.pdf").get_json()
    login(client, "tptc")  # the manager is in the chain and writes, but not over it
    token = csrf_token(client.get(f"/instances/{month}").get_data(as_text=True))
    resp = client.post(
        f"/instances/{month}/evidence",
        content_type="multipart/form-data",
        data={"csrf_token": token, "replaces": str(mine["id"]), "file": (io.BytesIO(PNG), "khac.png")},
    )
    assert resp.status_code == 403
    assert _count(Evidence, Evidence.instance_id == month) == 1
    assert db.session.get(Evidence, mine["id"]).replaced_by_id is None
    assert _count(AuditEvent, AuditEvent.action == "evidence_replaced") == 0

    login(client, "ttb")  # the uploader still may
    token = csrf_token(client.get(f"/instances/{month}").get_data(as_text=True))
    resp = client.post(
        f"/instances/{month}/evidence",
        content_type="multipart/form-data",
        data={"csrf_token": token, "replaces": str(mine["id"]), "file": (io.BytesIO(PNG), "moi.png")},
    )
    assert resp.status_code == 302
    assert db.session.get(Evidence, mine["id"]).replaced_by_id is not None


@pytest.mark.parametrize("value", HOSTILE_IDS)
def test_hostile_ticked_ids_on_the_hr_activation_page_choose_nobody(ctx, client, value):
    login(client, "nva")
    token = csrf_token(client.get("/hr/activation").get_data(as_text=True))
    codes = client.post("/hr/activation/codes", data={"csrf_token": token, "user_id": [value]})
    # nobody chosen: back to the page (post/redirect/get) with "choose at least one person" by the list
    assert codes.status_code == 302 and codes.headers["Location"].startswith("/hr/activation")
    assert "Hãy chọn ít nhất một người." in client.get(codes.headers["Location"]).get_data(as_text=True)
    mail = client.post("/hr/activation/mail", data={"csrf_token": token, "user_id": [value]})
    assert mail.status_code == 302
    assert _count(AccountToken) == 0


@pytest.mark.parametrize("value", HOSTILE_IDS)
def test_hostile_ticked_ids_on_the_inbox_and_the_decision_page_are_no_500(ctx, client, value):
    login(client, "tptc")
    token = csrf_token(client.get("/").get_data(as_text=True))
    assert client.post("/tasks/take-as-proposed", data={"csrf_token": token, "task_id": [value]}).status_code == 302
    login(client, "gd")
    token = csrf_token(client.get("/decisions").get_data(as_text=True))
    resp = client.post(
        "/decisions", data={"csrf_token": token, "unit": "SNV", "period": PERIOD, "instance_id": [value]}
    )
    assert resp.status_code < 500


def test_the_hr_list_refuses_a_limit_that_is_not_ascii_digits(ctx, client):
    login(client, "nva")
    for limit in ("²", "٣٣"):
        resp = client.get("/dashboard/evaluations", query_string={"limit": limit})
        assert resp.status_code == 400 and "limit" in resp.get_data(as_text=True)


def test_many_small_files_or_links_stop_at_the_records_count(ctx, client, month, monkeypatch):
    monkeypatch.setitem(ctx.config, "EVIDENCE_MAX_ITEMS", 5)
    api = Api(client, "ttb")
    tiny = b"%PDF-1.4\n%%EOF\n"
    assert [_upload(api, month, tiny, f"{n}.pdf").status_code for n in range(4)] == [201] * 4
    link = api.post(
        f"/instances/{month}/evidence", data={"url": "https://a.gov.vn/1"}, content_type="multipart/form-data"
    )
    assert link.status_code == 201
    refused = _upload(api, month, tiny, "6.pdf")
    assert refused.status_code == 422 and refused.get_json()["details"][0]["field"] == "file"
    refused = api.post(
        f"/instances/{month}/evidence", data={"url": "https://a.gov.vn/2"}, content_type="multipart/form-data"
    )
    assert refused.status_code == 422 and refused.get_json()["details"][0]["field"] == "url"
    assert _count(Evidence, Evidence.instance_id == month) == 5
    # a withdrawn file frees its place
    first = db.session.scalars(select(Evidence).where(Evidence.instance_id == month).order_by(Evidence.id)).first()
    login(client, "ttb")
    token = csrf_token(client.get(f"/instances/{month}").get_data(as_text=True))
    assert client.post(f"/evidence/{first.id}/withdraw", data={"csrf_token": token}).status_code == 302
    assert _upload(api, month, tiny, "7.pdf").status_code == 201


def test_a_comment_loop_is_cut_at_the_hourly_pace_and_notifies_no_more(ctx, client, month, monkeypatch):
    from app.models import Comment, Notification

    monkeypatch.setitem(ctx.config, "COMMENTS_PER_HOUR", 3)
    api = Api(client, "ttb")
    assert [api.post(f"/instances/{month}/comments", {"body": f"lần {n}"}).status_code for n in range(3)] == [201] * 3
    told = _count(Notification, Notification.kind == "comment")
    refused = api.post(f"/instances/{month}/comments", {"body": "lần nữa"})
    assert refused.status_code == 429 and refused.get_json()["error"] == "rate_limited"
    assert _count(Comment, Comment.instance_id == month) == 3
    assert _count(Notification, Notification.kind == "comment") == told
    # another participant still writes
    assert Api(client, "tptc").post(f"/instances/{month}/comments", {"body": "Đã nhận."}).status_code == 201


def test_two_comments_at_once_cannot_both_pass_the_hourly_pace(ctx, client, month, monkeypatch):
    """Two requests that both count the last free place before either adds its comment: the record
    is held for the first (FOR UPDATE, or SQLite's write lock), the second counts after it and is
    refused. Without the hold both pass and the pace is exceeded."""
    import threading

    from app.models import Comment
    from app.services.evaluation import comments

    monkeypatch.setitem(ctx.config, "COMMENTS_PER_HOUR", 3)
    api = Api(client, "ttb")
    assert [api.post(f"/instances/{month}/comments", {"body": f"lần {n}"}).status_code for n in range(2)] == [201] * 2
    real, barrier = comments._require_pace, threading.Barrier(2, timeout=3)

    def counted_then_waits(instance, user):
        real(instance, user)
        try:  # both past the count before either writes, unless the first holds the record
            barrier.wait()
        except threading.BrokenBarrierError:
            pass

    monkeypatch.setattr(comments, "_require_pace", counted_then_waits)
    statuses: list[int] = []

    def comment(n: int) -> None:
        resp = ctx.test_client().post(
            f"/api/v1/instances/{month}/comments", headers=api.headers, json={"body": f"cùng lúc {n}"}
        )
        statuses.append(resp.status_code)

    threads = [threading.Thread(target=comment, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201, 429], statuses
    db.session.expire_all()
    assert _count(Comment, Comment.instance_id == month) == 3


def test_a_link_with_an_impossible_port_is_refused(ctx, client, month):
    api = Api(client, "ttb")
    for bad in ("https://a.gov.vn:99999/x", "https://a.gov.vn:abc/x"):
        resp = api.post(f"/instances/{month}/evidence", data={"url": bad}, content_type="multipart/form-data")
        assert resp.status_code == 422 and resp.get_json()["details"][0]["field"] == "url", bad
    assert _count(Evidence, Evidence.instance_id == month) == 0


def test_the_plan_listing_does_not_tell_who_has_an_account(ctx, client, month):
    colleague = Api(client, "lvc")
    unknown = colleague.get("/plans", query_string={"period": PERIOD, "person": "khong-co-ai"})
    outside = colleague.get("/plans", query_string={"period": PERIOD, "person": "gd"})
    assert unknown.status_code == outside.status_code == 200
    assert unknown.get_json() == outside.get_json() == []
    mine = Api(client, "ttb").get("/plans", query_string={"period": PERIOD, "person": "ttb"}).get_json()
    assert [p["person"] for p in mine] == ["ttb"] and len(mine[0]["items"]) == 7


@pytest.mark.parametrize(
    "target",
    [
        "/\\evil.example",
        "/\\/evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "//evil.example",
        "https://evil.example/",
        "/x:\\\\evil.example",
    ],
)
def test_next_never_leaves_the_site(ctx, client, target):
    switched = client.get("/language/en", query_string={"next": target})
    assert switched.status_code == 302 and "evil" not in switched.headers["Location"]
    page = client.get("/login")
    signed = client.post(
        "/login",
        query_string={"next": target},
        data={"username": "ttb", "password": "DanhGia@2026", "csrf_token": csrf_token(page.get_data(as_text=True))},
    )
    assert signed.status_code == 302 and "evil" not in signed.headers["Location"]
    assert (
        client.get("/language/vi", query_string={"next": "/notifications?x=1"}).headers["Location"]
        == "/notifications?x=1"
    )


def test_an_email_the_provider_never_said_it_verified_matches_nobody(ctx, client, city):
    from .conftest import user

    hve = user("hve")
    hve.email = "hve.chua.xac.minh@hanoi.gov.vn"
    db.session.commit()
    _person(city, "city-0201", email="hve.chua.xac.minh@hanoi.gov.vn")  # no email_verified claim
    assert client.get(_consent(_to_provider(client, city), "city-0201")).status_code == 403
    assert _signed_in_as(client) is None
    refused = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "sso_login_refused")).all()
    assert refused[-1].details["reason"] == "unknown person"


def test_signing_in_as_nobody_costs_the_same_hash_check(ctx, client, monkeypatch):
    """Timing: an unknown name or an account without a password runs one password hash check, as a real
    account does (counted rather than timed, so the test does not depend on the machine's load)."""
    import werkzeug.security

    from app.services.organisation import accounts
    from app.services.organisation import orgimport

    orgimport.import_org(
        {"people": [{"username": "chuakichhoat", "full_name": "Chưa Kích Hoạt", "unit": "SNV-TCCB", "manager": "tptc"}]}
    )
    db.session.commit()
    calls = []
    real = werkzeug.security.check_password_hash
    monkeypatch.setattr(werkzeug.security, "check_password_hash", lambda h, p: calls.append(1) or real(h, p))
    import app.models.org as org

    monkeypatch.setattr(org, "check_password_hash", werkzeug.security.check_password_hash)
    for name in ("ttb", "khong-co-ai", "chuakichhoat"):
        calls.clear()
        assert accounts.sign_in(name, "Sai-mat-khau-123").user is None
        assert len(calls) == 1, name


def _zip_with(members: int) -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
        for n in range(members):
            archive.writestr(str(n), b"")
    return buffer.getvalue()


def test_a_docx_with_a_huge_central_directory_is_refused_before_it_is_parsed(ctx, client, month, monkeypatch):
    """A zip "bomb" of members rather than bytes: every member becomes an object before the type can be
    told, seconds of CPU and hundreds of MB for one upload. The end record is read first."""
    import zipfile

    from app.services.evaluation import filecheck

    assert [k.label for k in filecheck.detect(_zip_with(20))] == ["Word"]
    bomb = _zip_with(filecheck.MAX_ZIP_MEMBERS + 1)
    lying = bytearray(_zip_with(40_000))
    parsed = []
    real = zipfile.ZipFile.__init__
    monkeypatch.setattr(zipfile.ZipFile, "__init__", lambda self, *a, **k: parsed.append(1) or real(self, *a, **k))
    assert filecheck.detect(bomb) == [] and parsed == []
    # the end record lying about the count: the directory's size still gives it away
    end = lying.rfind(b"PK\x05\x06")
    lying[end + 8 : end + 12] = (1).to_bytes(2, "little") * 2
    assert filecheck.detect(bytes(lying)) == [] and parsed == []
    resp = _upload(Api(client, "ttb"), month, bomb, "bao-cao.docx")
    assert resp.status_code == 422 and resp.get_json()["details"][0]["field"] == "file"
    assert _count(Evidence, Evidence.instance_id == month) == 0


HOSTILE_ORG_FILES = {
    "username-is-a-list.json": '{"people": [{"username": ["x"], "full_name": "A", "unit": "SNV"}]}',
    "nul-in-a-name.json": '{"people": [{"username": "x7\\u0000", "full_name": "A", "unit": "SNV"}]}',
    "control-in-a-name.json": '{"people": [{"username": "x8", "full_name": "A\\u001b[31m", "unit": "SNV"}]}',
    "units-loop.json": '{"units": [{"code": "A1", "name": "a", "parent": "B1"}, {"code": "B1", "name": "b", "parent": "A1"}]}',
    "loop-through-stored.json": '{"units": [{"code": "SNV", "name": "Sở Nội vụ", "parent": "SNV-VP", "is_agency": true}]}',
    "heads-not-objects.json": '{"heads": [1, "x"]}',
    "units-not-a-list.json": '{"units": 5}',
    "deep.json": "[" * 100_000 + "]" * 100_000,
    "broken.xlsx": b"PK\x03\x04 not really a workbook",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_ORG_FILES))
def test_a_hostile_org_file_is_refused_with_a_message_and_imports_nothing(ctx, tmp_path, name):
    from app.models import Unit, User

    content = HOSTILE_ORG_FILES[name]
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    before = (_count(User), _count(Unit), db.session.scalars(select(Unit.parent_id).order_by(Unit.id)).all())
    result = ctx.test_cli_runner().invoke(args=["import-org", str(path)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.exception  # no traceback
    assert "Error:" in result.output
    db.session.expire_all()
    assert (_count(User), _count(Unit), db.session.scalars(select(Unit.parent_id).order_by(Unit.id)).all()) == before


def test_starting_the_city_sign_in_again_and_again_does_not_grow_the_session(ctx, client, city):
    _person(city, "city-0202", preferred_username="ttb")
    first = _to_provider(client, city)
    for _ in range(40):
        resp = client.get("/login/sso")
        assert resp.status_code == 302
    assert len(resp.headers["Set-Cookie"]) < 2000  # browsers keep at most 4 KB
    assert client.get(_consent(first, "city-0202")).status_code == 403  # an older start no longer waits
    assert client.get(_consent(_to_provider(client, city), "city-0202")).status_code == 302
    assert _signed_in_as(client) is not None


def test_an_hr_officer_cannot_print_the_code_of_someone_with_more_authority(ctx, client):
    """The code's holder sets the password: an HR officer printing an administrator's (or a head's) code
    would be signing in as them."""
    from app.models import Unit
    from app.services.organisation import orgimport

    from .conftest import user

    orgimport.import_org(
        {
            "people": [
                {"username": "qtmoi", "full_name": "Quản Trị Mới", "unit": "SNV-TCCB", "roles": "admin"},
                {"username": "tcmoi", "full_name": "Tổ Chức Mới", "unit": "SNV-TCCB", "roles": "hr_officer"},
                {"username": "tpmoi", "full_name": "Trưởng Phòng Mới", "unit": "SNV-TCCB"},
                {"username": "cvmoi", "full_name": "Chuyên Viên Mới", "unit": "SNV-TCCB", "manager": "tptc"},
            ]
        }
    )
    db.session.scalars(select(Unit).where(Unit.code == "SNV-VP")).one().head_id = user("tpmoi").id
    db.session.commit()
    login(client, "nva")
    token = csrf_token(client.get("/hr/activation").get_data(as_text=True))
    for name in ("qtmoi", "tcmoi", "tpmoi"):
        resp = client.post("/hr/activation/codes", data={"csrf_token": token, "user_id": [str(user(name).id)]})
        assert resp.status_code == 403, name
    assert _count(AccountToken) == 0
    ok = client.post("/hr/activation/codes", data={"csrf_token": token, "user_id": [str(user("cvmoi").id)]})
    assert ok.status_code == 200 and _count(AccountToken) == 1
    login(client, "admin")  # an administrator prints theirs
    token = csrf_token(client.get("/hr/activation").get_data(as_text=True))
    resp = client.post("/hr/activation/codes", data={"csrf_token": token, "user_id": [str(user("qtmoi").id)]})
    assert resp.status_code == 200 and _count(AccountToken) == 2
