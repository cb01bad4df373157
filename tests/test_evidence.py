"""Evidence (minh chứng) and comments on a record (issue #14): what is stored, what is refused with nothing
stored, who may see, write and download, and that the trail (notifications, audit) follows.

The file system store is tested in every run; the S3 store against a real local S3-compatible server
(moto's server mode, started as its own process) when the `moto` package can run one here."""

from __future__ import annotations

import hashlib
import io
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Comment, EvaluationRecord, Evidence, Notification
from app.services.evaluation import evidence as evidence_service
from app.services.evaluation import evidence_storage, filecheck

from .conftest import PERIOD, csrf_token, user
from .support import Api
from .test_pages import login

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201e2e5b6a50000000049454e44ae426082"
)
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


@pytest.fixture()
def month(client):
    """SNV-TCCB's month opened: ttb (staff) under tptc (manager), gd deciding, nva its HR officer."""
    assert Api(client, "nva").post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD}).status_code == 200
    record = db.session.scalars(
        select(EvaluationRecord).where(EvaluationRecord.subject_id == user("ttb").id, EvaluationRecord.period == PERIOD)
    ).one()
    # ttb's plan: items 1..7 (evidence and comments may name one of the record's plan items)
    manager = Api(client, "tptc")
    for n in range(1, 8):
        added = manager.post(f"/plans/ttb/{PERIOD}/items", {"title": f"Việc {n}"})
        assert added.status_code == 200 and added.get_json()["id"] == n
    return record.instance_id


def _root(app) -> Path:
    return Path(app.config.get("EVIDENCE_ROOT") or os.path.join(app.instance_path, "evidence"))


def _stored_files(app) -> set[Path]:
    root = _root(app)
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def _upload(api, instance_id, data, name, **form):
    return api.client.post(
        f"/api/v1/instances/{instance_id}/evidence",
        headers=api.headers,
        data={"file": (io.BytesIO(data), name), **form},
        content_type="multipart/form-data",
    )


def _rows(instance_id):
    return db.session.scalar(select(func.count()).select_from(Evidence).where(Evidence.instance_id == instance_id))


def test_upload_keeps_the_bytes_their_hash_and_an_audit_row(ctx, client, month):
    before = _stored_files(ctx)
    resp = _upload(Api(client, "ttb"), month, PDF, "Báo cáo tháng 3.pdf", item_id="7")
    assert resp.status_code == 201, resp.get_json()
    out = resp.get_json()
    assert out["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert (out["name"], out["size"], out["content_type"], out["item_id"]) == (
        "Báo cáo tháng 3.pdf",
        len(PDF),
        "application/pdf",
        7,
    )
    row = db.session.get(Evidence, out["id"])
    assert row.storage == "fs" and row.uploaded_by_id == user("ttb").id
    new = _stored_files(ctx) - before
    assert len(new) == 1
    stored = new.pop()
    assert stored.read_bytes() == PDF and hashlib.sha256(stored.read_bytes()).hexdigest() == row.sha256
    assert stored.parent.name == str(month)  # under the record's own folder
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.instance_id == month, AuditEvent.action == "evidence_added")
    ).one()
    assert event.actor_id == user("ttb").id and event.details["sha256"] == row.sha256
    assert evidence_service.belongs_to(month, [row.id]) and not evidence_service.belongs_to(month + 1, [row.id])


@pytest.mark.parametrize(
    "data,name,says",
    [
        (HTML, "bao-cao.pdf", None),
        (PNG, "bao-cao.pdf", "PNG"),
        (PDF, "anh.jpg", "PDF"),
        (b"MZ\x90\x00" + b"\0" * 60, "x.docx", None),
    ],
)
def test_content_that_is_not_what_its_name_says_is_refused_and_nothing_is_stored(ctx, client, month, data, name, says):
    before = _stored_files(ctx)
    resp = _upload(Api(client, "ttb"), month, data, name)
    assert resp.status_code == 422
    body = resp.get_json()
    assert body["details"][0]["field"] == "file"
    if says:
        assert says in body["details"][0]["message_en"]
    assert _rows(month) == 0 and _stored_files(ctx) == before


def test_too_large_a_file_or_a_record_is_refused_and_nothing_is_stored(ctx, client, month, monkeypatch):
    api = Api(client, "ttb")
    before = _stored_files(ctx)
    limit = 20 * 1024 * 1024
    just_over = PDF + b"0" * (limit + 1 - len(PDF))
    resp = _upload(api, month, just_over, "lon.pdf")
    assert resp.status_code == 413 and resp.get_json()["details"][0]["field"] == "file"
    far_over = PDF + b"0" * (limit + 2 * 1024 * 1024)  # past the whole request's limit
    assert _upload(api, month, far_over, "lon.pdf").status_code == 413
    assert _rows(month) == 0 and _stored_files(ctx) == before
    exactly = PDF + b"0" * (limit - len(PDF))
    assert _upload(api, month, exactly, "vua.pdf").status_code == 201

    # the record's total: the next file would pass it
    monkeypatch.setitem(ctx.config, "EVIDENCE_MAX_TOTAL_MB", 20.5)
    resp = _upload(api, month, PDF + b"0" * (1024 * 1024), "them.pdf")
    assert resp.status_code == 413 and "20" in resp.get_json()["message_en"]
    assert _rows(month) == 1


def test_another_persons_record_is_refused(ctx, client, month):
    for outsider in ("lvc", "tpcc"):  # a colleague; another division's head
        api = Api(client, outsider)
        assert _upload(api, month, PDF, "x.pdf").status_code == 403
        assert api.get(f"/instances/{month}/evidence").status_code == 403
    assert _upload(Api(client, "ttb"), 999_999, PDF, "x.pdf").status_code == 404
    hr = Api(client, "nva")  # HR sees the record, does not write on it
    assert _upload(hr, month, PDF, "x.pdf").status_code == 403
    assert _rows(month) == 0


def test_a_name_with_dot_dot_is_cleaned_and_stays_inside_the_store(ctx, client, month):
    api = Api(client, "ttb")
    out = _upload(api, month, PDF, "../../../etc/Kế hoạch\u202e.pdf").get_json()
    assert out["name"] == "Kế hoạch.pdf"
    out2 = _upload(api, month, PNG, "../..//ảnh chụp").get_json()  # no extension: the content's is added
    assert out2["name"] == "ảnh chụp.png" and out2["content_type"] == "image/png"
    # a Windows path (the multipart header itself would eat its backslashes, so the service is asked directly)
    assert filecheck.clean_name("..\\..\\windows\\ảnh\x07 chụp.jpg") == "ảnh chụp.jpg"
    assert filecheck.clean_name("..") == "" and filecheck.clean_name(".env") == "env"
    root = _root(ctx).resolve()
    for row in db.session.scalars(select(Evidence).where(Evidence.instance_id == month)):
        path = (root / row.storage_key).resolve()
        assert root in path.parents and path.is_file()


def test_download_is_an_attachment_with_nosniff_for_those_who_see_the_record(ctx, client, month):
    out = _upload(Api(client, "ttb"), month, PDF, "Báo cáo.pdf").get_json()
    for viewer in ("ttb", "tptc", "gd", "nva"):
        resp = Api(client, viewer).get(f"/evidence/{out['id']}")
        assert resp.status_code == 200, viewer
        assert resp.data == PDF
        assert resp.headers["Content-Disposition"].startswith("attachment")
        assert "B%C3%A1o%20c%C3%A1o.pdf" in resp.headers["Content-Disposition"]
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Content-Type"] == "application/pdf"
        assert "sandbox" in resp.headers["Content-Security-Policy"]
    assert Api(client, "lvc").get(f"/evidence/{out['id']}").status_code == 403
    assert Api(client, "ttb").get("/evidence/999999").status_code == 404
    login(client, "tptc")  # the page's download: the same answer
    page = client.get(f"/evidence/{out['id']}")
    assert page.status_code == 200 and page.headers["Content-Disposition"].startswith("attachment")


def test_withdrawn_before_the_decision_kept_after_it_replaced_stays_in_history(ctx, client, month):
    login(client, "ttb")
    html = client.get(f"/instances/{month}").get_data(as_text=True)
    token = csrf_token(html)
    api = Api(client, "ttb")
    first = _upload(api, month, PDF, "ban-dau.pdf").get_json()
    path = _root(ctx) / db.session.get(Evidence, first["id"]).storage_key
    # before the decision the uploader withdraws it: the bytes go, the row stays (history)
    assert client.post(f"/evidence/{first['id']}/withdraw", data={"csrf_token": token}).status_code == 302
    row = db.session.get(Evidence, first["id"])
    assert row.deleted_at is not None and not path.exists()
    assert (
        db.session.scalars(select(AuditEvent.action).where(AuditEvent.instance_id == month))
        .all()
        .count("evidence_deleted")
        == 1
    )

    kept = _upload(api, month, PDF, "giu-lai.pdf").get_json()
    replaced = client.post(
        f"/instances/{month}/evidence",
        content_type="multipart/form-data",
        data={"csrf_token": token, "replaces": str(kept["id"]), "file": (io.BytesIO(PNG), "ban-moi.png")},
    )
    assert replaced.status_code == 302
    old = db.session.get(Evidence, kept["id"])
    new = db.session.get(Evidence, old.replaced_by_id)
    assert new.replaces_id == old.id and new.name == "ban-moi.png"
    assert Api(client, "tptc").get(f"/evidence/{old.id}").data == PDF  # the old version still served
    assert not evidence_service.belongs_to(month, [old.id]) and evidence_service.belongs_to(month, [new.id])

    record = db.session.scalars(select(EvaluationRecord).where(EvaluationRecord.instance_id == month)).one()
    record.level = "B"  # decided (set directly: only that matters here)
    db.session.commit()
    refused = client.post(f"/evidence/{new.id}/withdraw", data={"csrf_token": token})
    assert refused.status_code == 409
    assert db.session.get(Evidence, new.id).deleted_at is None
    assert (_root(ctx) / new.storage_key).is_file()


def test_only_http_links_are_kept(ctx, client, month):
    api = Api(client, "ttb")
    for bad in (
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html,<script>x</script>",
        "ftp://a.b/c",
        "//evil.example/x",
        "vbscript:x",
    ):
        resp = api.post(f"/instances/{month}/evidence", data={"url": bad}, content_type="multipart/form-data")
        assert resp.status_code == 400, bad
        assert resp.get_json()["details"][0]["field"] == "url"
    for bad in ("http://", "https://user:pw@example.gov.vn/x", "https://a b.vn/"):
        assert (
            api.post(f"/instances/{month}/evidence", data={"url": bad}, content_type="multipart/form-data").status_code
            == 422
        ), bad
    assert _rows(month) == 0
    ok = api.post(
        f"/instances/{month}/evidence",
        data={"url": "https://dichvucong.hanoi.gov.vn/ho-so/123", "title": "Hồ sơ 123"},
        content_type="multipart/form-data",
    )
    assert ok.status_code == 201 and ok.get_json()["kind"] == "link" and ok.get_json()["name"] == "Hồ sơ 123"
    assert Api(client, "ttb").get(f"/evidence/{ok.get_json()['id']}").status_code == 404  # nothing to download


def test_comments_chain_writes_hr_reads_outsider_refused_with_notifications_and_audit(ctx, client, month):
    ttb, tptc, gd = Api(client, "ttb"), Api(client, "tptc"), Api(client, "gd")
    resp = ttb.post(f"/instances/{month}/comments", {"body": "Em gửi minh chứng việc 1."})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["author"]["username"] == "ttb" and resp.get_json()["item_id"] is None
    assert tptc.post(f"/instances/{month}/comments", {"body": "Cần bổ sung biên bản.", "item_id": 3}).status_code == 201
    assert gd.post(f"/instances/{month}/comments", {"body": "Đồng ý."}).status_code == 201

    for reader in ("ttb", "tptc", "gd", "nva"):
        listed = Api(client, reader).get(f"/instances/{month}/comments")
        assert listed.status_code == 200
        assert [c["body"] for c in listed.get_json()] == [
            "Em gửi minh chứng việc 1.",
            "Cần bổ sung biên bản.",
            "Đồng ý.",
        ]
    assert Api(client, "nva").post(f"/instances/{month}/comments", {"body": "HR viết"}).status_code == 403
    assert Api(client, "lvc").get(f"/instances/{month}/comments").status_code == 403
    assert Api(client, "lvc").post(f"/instances/{month}/comments", {"body": "xin chào"}).status_code == 403
    assert ttb.post(f"/instances/{month}/comments", {"body": "   "}).status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Comment)) == 3

    first = db.session.scalars(select(Comment).order_by(Comment.id)).first()
    told = db.session.scalars(
        select(Notification).where(Notification.kind == "comment", Notification.message.contains("Em gửi"))
    ).all()
    assert {n.user_id for n in told} == {user("tptc").id, user("gd").id}  # not the author
    assert all(n.instance_id == month and n.message_en for n in told)
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.instance_id == month, AuditEvent.action == "comment_added")
        .order_by(AuditEvent.id)
    ).all()
    assert len(events) == 3 and events[0].actor_id == user("ttb").id and events[0].details["comment_id"] == first.id
    assert events[1].details["item_id"] == 3


def test_record_page_upload_from_a_phone_and_errors_next_to_the_field(ctx, client, month):
    login(client, "ttb")
    html = client.get(f"/instances/{month}").get_data(as_text=True)
    upload = re.search(r'<input type="file" id="evidence-file"[^>]*>', html).group(0)
    assert 'accept="image/*,application/pdf,' in upload and ".docx" in upload and ".heic" in upload
    assert 'enctype="multipart/form-data"' in html and 'id="comment-form"' in html
    token = csrf_token(html)
    wrong = client.post(
        f"/instances/{month}/evidence",
        content_type="multipart/form-data",
        data={"csrf_token": token, "file": (io.BytesIO(HTML), "anh.jpg")},
    )
    assert wrong.status_code == 302 and wrong.headers["Location"].endswith(f"/instances/{month}#evidence")
    page = client.get(wrong.headers["Location"]).get_data(as_text=True)  # post/redirect/get
    assert re.search(
        r'id="evidence-file"[^>]*aria-describedby="[^"]*\bevidence-file-error\b[^"]*"[^>]*aria-invalid="true"', page
    )
    assert 'id="evidence-file-error"' in page and "Nội dung tệp không thuộc loại được nhận" in page
    assert _rows(month) == 0
    ok = client.post(
        f"/instances/{month}/evidence",
        content_type="multipart/form-data",
        data={"csrf_token": token, "file": (io.BytesIO(PNG), "IMG_0001.png")},
    )
    assert ok.status_code == 302
    # past the app-wide 2 MB body limit, which still holds for every other form
    scan = PDF + b"0" * (3 * 1024 * 1024)
    assert (
        client.post(
            f"/instances/{month}/evidence",
            content_type="multipart/form-data",
            data={"csrf_token": token, "file": (io.BytesIO(scan), "scan.pdf")},
        ).status_code
        == 302
    )
    # past it: back to the page (no Referer here: home) naming the limit, like any refused form
    too_long = client.post(f"/instances/{month}/comments", data={"csrf_token": token, "body": "x" * (3 * 1024 * 1024)})
    assert too_long.status_code == 302
    assert "vượt quá giới hạn 2 MB" in client.get(too_long.headers["Location"]).get_data(as_text=True)
    missing_token = client.post(
        f"/instances/{month}/evidence",
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(PNG), "IMG_0002.png")},
    )
    assert missing_token.status_code == 302 and _rows(month) == 2
    comment = client.post(f"/instances/{month}/comments", data={"csrf_token": token, "body": "Ảnh biên bản họp."})
    assert comment.status_code == 302
    html = client.get(f"/instances/{month}").get_data(as_text=True)
    assert "IMG_0001.png" in html and "Ảnh biên bản họp." in html
    empty = client.post(f"/instances/{month}/comments", data={"csrf_token": token, "body": ""})
    assert empty.status_code == 302
    assert 'id="comment-body-error"' in client.get(empty.headers["Location"]).get_data(as_text=True)

    login(client, "nva")  # HR: reads, no forms
    html = client.get(f"/instances/{month}?lang=en").get_data(as_text=True)
    assert "IMG_0001.png" in html and 'id="evidence-upload"' not in html and 'id="comment-form"' not in html
    assert 'id="evidence-title">Evidence<' in html and "Minh chứng" not in html and "Trao đổi chung" not in html


# --------------------------------------------------------------------------- S3-compatible store
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def s3_server():
    """moto's S3-compatible server as a separate process on a free local port."""
    pytest.importorskip("moto.server")
    boto3 = pytest.importorskip("boto3")
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.skip("the local S3-compatible server did not start")
        client = boto3.client(
            "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
        )
        client.create_bucket(Bucket="minh-chung")
        yield endpoint, client
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_s3_store_against_a_local_s3_server(ctx, client, month, s3_server, monkeypatch):
    endpoint, s3 = s3_server
    for key, value in {
        "BUCKET": "minh-chung",
        "ENDPOINT": endpoint,
        "REGION": "us-east-1",
        "PREFIX": "danhgia",
        "ACCESS_KEY": "test",
        "SECRET_KEY": "test",
    }.items():
        monkeypatch.setitem(ctx.config, f"EVIDENCE_S3_{key}", value)
    monkeypatch.setattr(evidence_storage, "_cache", {})
    before = _stored_files(ctx)
    out = _upload(Api(client, "ttb"), month, PNG, "ảnh.png").get_json()
    row = db.session.get(Evidence, out["id"])
    assert row.storage == "s3" and _stored_files(ctx) == before  # nothing on the local disk
    stored = s3.get_object(Bucket="minh-chung", Key=f"danhgia/{row.storage_key}")
    assert stored["Body"].read() == PNG and stored["ContentType"] == "image/png"
    resp = Api(client, "tptc").get(f"/evidence/{row.id}")
    assert resp.status_code == 200 and resp.data == PNG
    assert resp.headers["Content-Disposition"].startswith("attachment")
    # a file stored on disk before S3 was turned on is still served from the disk
    monkeypatch.setitem(ctx.config, "EVIDENCE_S3_BUCKET", "")
    local = _upload(Api(client, "ttb"), month, PDF, "cu.pdf").get_json()
    monkeypatch.setitem(ctx.config, "EVIDENCE_S3_BUCKET", "minh-chung")
    assert Api(client, "ttb").get(f"/evidence/{local['id']}").data == PDF


# --------------------------------------------------------------------------- what a file is
def _zip(members: dict[str, bytes]) -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_types_are_read_from_the_content():
    from openpyxl import Workbook

    book = io.BytesIO()
    Workbook().save(book)
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600
    cases = {
        "application/pdf": PDF,
        "image/png": PNG,
        "image/jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\0" * 40,
        "image/webp": b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\0" * 40,
        "image/heic": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\0" * 40,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": book.getvalue(),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document": _zip(
            {"[Content_Types].xml": b"<Types/>", "_rels/.rels": b"", "word/document.xml": b"<w/>"}
        ),
        "application/vnd.openxmlformats-officedocument.presentationml.presentation": _zip(
            {"[Content_Types].xml": b"<Types/>", "ppt/presentation.xml": b"<p/>"}
        ),
        "application/vnd.oasis.opendocument.text": _zip(
            {"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<x/>"}
        ),
    }
    for mime, data in cases.items():
        assert [k.mime for k in filecheck.detect(data)] == [mime], mime
    # the three 97-2003 formats share one header: the name decides among them, nothing else
    assert {k.extensions[0] for k in filecheck.detect(ole)} == {"doc", "xls", "ppt"}
    for refused in (
        HTML,
        b"",
        _zip({"a.txt": b"x"}),
        _zip({"mimetype": b"application/epub+zip"}),
        b"GIF89a" + b"\0" * 20,
        b"PK\x03\x04broken",
        b"\x7fELF" + b"\0" * 60,
    ):
        assert filecheck.detect(refused) == [], refused[:12]


def test_an_old_office_file_takes_its_type_from_its_name_among_the_ole_formats(ctx, client, month):
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600
    api = Api(client, "ttb")
    assert _upload(api, month, ole, "bang-cham-cong.xls").get_json()["content_type"] == "application/vnd.ms-excel"
    assert _upload(api, month, ole, "to-trinh.doc").get_json()["content_type"] == "application/msword"
    refused = _upload(api, month, ole, "to-trinh.pdf")
    assert refused.status_code == 422 and "Office 97-2003" in refused.get_json()["message_en"]
    assert _rows(month) == 2


def test_a_deputy_writes_for_the_manager_never_for_the_subject(ctx, client, month):
    from datetime import date, timedelta

    from app.models import Delegation

    today = date.today()
    for principal in ("tptc", "ttb"):
        db.session.add(
            Delegation(
                principal_id=user(principal).id,
                deputy_id=user("lvc").id,
                reason="Nghỉ phép",
                start=today - timedelta(days=1),
                end=today + timedelta(days=1),
            )
        )
    db.session.commit()
    deputy = Api(client, "lvc")
    resp = deputy.post(f"/instances/{month}/comments", {"body": "Thay mặt trưởng phòng: đã nhận."})
    assert resp.status_code == 201 and resp.get_json()["on_behalf_of"] == "tptc"
    assert deputy.get(f"/instances/{month}/comments").status_code == 200
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "comment_added")).one()
    assert event.actor_id == user("lvc").id and event.on_behalf_of_id == user("tptc").id
    told = {n.user_id for n in db.session.scalars(select(Notification).where(Notification.kind == "comment"))}
    assert told == {user("ttb").id, user("gd").id}  # neither the deputy nor the one they act for
    for row in db.session.scalars(select(Delegation).where(Delegation.principal_id == user("tptc").id)):
        row.revoked = True
    db.session.commit()
    # acting only for the person evaluated gives no pen on their own record
    assert deputy.post(f"/instances/{month}/comments", {"body": "Viết thay người được đánh giá"}).status_code == 403
    assert _upload(deputy, month, PDF, "x.pdf").status_code == 403


def test_a_store_that_cannot_be_written_is_a_503_and_nothing_is_kept(ctx, client, month, monkeypatch):
    monkeypatch.setitem(ctx.config, "EVIDENCE_S3_BUCKET", "minh-chung")
    monkeypatch.setitem(ctx.config, "EVIDENCE_S3_ENDPOINT", f"http://127.0.0.1:{_free_port()}")  # nobody there
    monkeypatch.setitem(ctx.config, "EVIDENCE_S3_ACCESS_KEY", "test")
    monkeypatch.setitem(ctx.config, "EVIDENCE_S3_SECRET_KEY", "test")
    monkeypatch.setitem(ctx.config, "EVIDENCE_S3_REGION", "us-east-1")
    monkeypatch.setattr(evidence_storage, "_cache", {})
    resp = _upload(Api(client, "ttb"), month, PDF, "x.pdf")
    assert resp.status_code == 503 and resp.get_json()["error"] == "unavailable"
    assert _rows(month) == 0
    assert (
        db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "evidence_added"))
        == 0
    )


def test_the_api_reads_the_upload_form_as_its_schema_says(ctx, client, month):
    """Found by schemathesis: an empty `url` beside a file was taken as "no link" (201), and an item id
    written 2.0 in JSON (an integer for JSON Schema) was refused."""
    api = Api(client, "ttb")
    both = _upload(api, month, PDF, "x.pdf", url="")
    assert both.status_code == 400 and both.get_json()["details"][0]["field"] == "url"
    twice = api.client.post(
        f"/api/v1/instances/{month}/evidence",
        headers=api.headers,
        data={"url": ["https://a.vn/1", "https://a.vn/2"]},
        content_type="multipart/form-data",
    )
    assert twice.status_code == 400
    assert _upload(api, month, PDF, "x.pdf", item_id="1.5").status_code == 400
    assert api.post(f"/instances/{month}/evidence", data={}, content_type="multipart/form-data").status_code == 400
    assert _rows(month) == 0
    resp = api.post(f"/instances/{month}/comments", {"body": "Việc 2", "item_id": 2.0})
    assert resp.status_code == 201 and resp.get_json()["item_id"] == 2


def test_items_named_by_evidence_and_comments_are_the_records_own(ctx, client, month):
    """Runs once the work-plan module (plan items) is installed: an item of this record is accepted and
    offered on the page; an item of another record is refused next to `item_id`."""
    plans_model = pytest.importorskip("app.models.plans")
    mine = plans_model.PlanItem(instance_id=month, subject_id=user("ttb").id, period=PERIOD, title="Báo cáo quý I")
    db.session.add(mine)
    db.session.commit()
    api = Api(client, "ttb")
    assert api.post(f"/instances/{month}/comments", {"body": "Xong", "item_id": mine.id}).status_code == 201
    assert _upload(api, month, PDF, "quy1.pdf", item_id=str(mine.id)).status_code == 201
    refused = api.post(f"/instances/{month}/comments", {"body": "Xong", "item_id": mine.id + 1000})
    assert refused.status_code == 422 and refused.get_json()["details"][0]["field"] == "item_id"
    login(client, "ttb")
    html = client.get(f"/instances/{month}").get_data(as_text=True)
    assert f'<option value="{mine.id}"' in html and "Báo cáo quý I" in html
