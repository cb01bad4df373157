"""English for the administrator, dashboard and report pages (issue #8): every page in English with
?lang=en and no Vietnamese heading left, the Vietnamese default unchanged, validation errors of the admin
forms in English, chart texts in the page's language, numbers 89,5 / 89.5."""

from __future__ import annotations

import json
import re

import pytest

from .conftest import PERIOD, csrf_token
from .monitor_seed import instance_id, seed_month
from .test_pages import login
from .test_rollup import quarter_data

VIETNAMESE = re.compile(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", re.I)


def text_of(html: str) -> str:
    """The visible text of the page's <main> without the lists of units (their names are data, not texts)."""
    main = html.split("<main", 1)[-1].split("</main>", 1)[0]
    main = re.sub(r"<script.*?</script>|<option[^>]*>[^<]*</option>", " ", main, flags=re.S)
    return re.sub(r"<[^>]+>", " ", main)


def get(client, path: str, status: int = 200) -> str:
    resp = client.get(path)
    assert resp.status_code == status, (path, resp.status_code)
    return resp.get_data(as_text=True)


def post(client, path: str, data: dict):
    page = client.get(path)
    assert page.status_code == 200
    return client.post(path, data=dict(data, csrf_token=csrf_token(page.get_data(as_text=True))))


ADMIN_PAGES = {
    "/admin/calendar": (
        ["<h1>Working calendar</h1>", ">Kind of day</label>", "Make-up working day", ">Add</button>"],
        ["Lịch làm việc", "Ngày làm việc bù", "Ghi chú"],
    ),
    "/admin/schemes": (
        [
            "<h1>Evaluation criteria schemes</h1>",
            "Hanoi monthly",
            "Decree 335/2025",
            "30% (40% in an exceptional month)",
            "20% of the level B count",
            ">Edit criteria</a>",
            "Assign a scheme to an agency",
        ],
        ["Khung tiêu chí đánh giá", "Sửa tiêu chí", "tháng đặc biệt", "Gán khung"],
    ),
    "/admin/schemes/hanoi-monthly/edit": (
        [
            "<h1>Hanoi monthly — edit criteria</h1>",
            "Saving creates version 2",
            "Position group: Civil servants and public employees",
            'aria-label="Maximum points of I.1"',
            ">Save as a new version</button>",
        ],
        ["sửa tiêu chí", "Nhóm vị trí", "Lưu phiên bản mới"],
    ),
    "/admin/delegations": (
        [
            "<h1>Delegations</h1>",
            ">Principal</label>",
            ">Deputy</label>",
            'placeholder="username"',
            "Acting heads (appointed for a period)",
            "No delegations yet.",
        ],
        ["Người ủy quyền", "Quyền thủ trưởng", "Chưa có ủy quyền"],
    ),
    "/admin/users": (
        ["<h1>User accounts</h1>", ">Username</label>", ">Show the account</button>"],
        ["Tài khoản người dùng", "Xem tài khoản"],
    ),
}


@pytest.mark.parametrize("path", list(ADMIN_PAGES))
def test_admin_pages_in_english_and_vietnamese(client, path):
    english, vietnamese = ADMIN_PAGES[path]
    login(client, "admin")
    html = get(client, path + "?lang=en")
    assert '<html lang="en"' in html
    for text in english:
        assert text in html, text
    for text in vietnamese:
        assert text not in html, text
    assert not VIETNAMESE.search(text_of(html)), VIETNAMESE.findall(text_of(html))[:10]

    html = get(client, path + "?lang=vi")
    assert '<html lang="vi"' in html
    for text in vietnamese:
        assert text in html, text


def test_admin_validation_errors_in_english(client):
    login(client, "admin")
    client.get("/admin/calendar?lang=en")
    bad = post(client, "/admin/calendar", {"day": "06/04/2030", "kind": "work"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert "The day was not added." in html and 'id="day-error">The day must be YYYY-MM-DD.</p>' in html
    assert "Chưa thêm được" not in html and "phải có dạng" not in html

    bad = post(
        client, "/admin/delegations", {"principal": "gd", "deputy": "ttb", "start": "2030-05-10", "end": "2030-05-01"}
    )
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert "The dates are not valid." in html and 'id="end-error">The end must not be before the start.</p>' in html
    assert "Thời gian chưa hợp lệ" not in html and "sau ngày bắt đầu" not in html
    unknown = post(
        client,
        "/admin/delegations",
        {"principal": "gd", "deputy": "khong-co", "start": "2030-05-01", "end": "2030-05-10"},
    ).get_data(as_text=True)
    assert "No such user." in unknown and "No account &#39;khong-co&#39;." in unknown

    page = client.get("/admin/schemes/hanoi-monthly/edit").get_data(as_text=True)
    fields = dict(re.findall(r'name="((?:staff|leader|contract)-\d+-\w+)" value="([^"]*)"', page))
    fields.update({"staff-4-max": "30", "effective_from": "2030-13"})
    refused = client.post("/admin/schemes/hanoi-monthly/edit", data=dict(fields, csrf_token=csrf_token(page)))
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "The scheme is not valid; nothing saved." in html and "The period must be YYYY-MM." in html
    assert "Group II maxima must add up to 70." in html and "phải là 70" not in html

    ok = post(
        client, "/admin/delegations", {"principal": "gd", "deputy": "ttb", "start": "2030-05-01", "end": "2030-05-10"}
    )
    assert ok.status_code == 302
    assert "Saved." in get(client, "/admin/delegations")

    # the Vietnamese page speaks Vietnamese only
    client.get("/admin/calendar?lang=vi")
    html = post(client, "/admin/calendar", {"day": "x", "kind": "work"}).get_data(as_text=True)
    assert "Chưa thêm được ngày vào lịch." in html and "The day was not added." not in html
    assert 'id="day-error">Ngày phải có dạng YYYY-MM-DD.</p>' in html


@pytest.fixture()
def month(client):
    seed_month(client)
    return client


def test_dashboard_in_english(month):
    client = month
    login(client, "nva")
    html = get(client, f"/dashboard?unit=SNV&period={PERIOD}&lang=en")
    for text in (
        "<h1>Evaluation overview for 03/2030</h1>",
        'funnel-title">Evaluations by step</h2>',
        'levels-title">Levels (published)</h2>',
        "12-month trend",
        "Export the month's results (Excel)",
        "Progress by sub-unit",
        "figures as of",
        "33% finished",
        "1 suspended",
        "Who has not finished",
        "A — Excellently completed duties",
        "Published, appeal window open",
    ):
        assert text in html, text
    for text in (
        "Tổng quan đánh giá",
        "Hồ sơ theo bước",
        "Xu hướng 12 tháng",
        "trực thuộc trực tiếp",
        "Chưa có kết quả",
        "Đã công bố, trong thời hạn kiến nghị",
    ):
        assert text not in html, text
    assert ">82.33</td>" in html
    charts = json.loads(re.search(r'id="dashboard-data">(.*?)</script>', html, re.S).group(1))
    assert charts["levels"]["labels"] == ["Level A", "Level B", "Level C", "Level D", "No result yet"]
    assert "Self-evaluation" in charts["funnel"]["labels"] and "Published" in charts["funnel"]["labels"]
    assert charts["texts"]["mean"] == "Average score" and charts["texts"]["levels"]["B"] == "Level B"
    assert charts["texts"]["records"] == "Evaluations" and charts["texts"]["people"] == "People"

    html = get(client, f"/dashboard?unit=SNV&period={PERIOD}&lang=vi")
    assert "<h1>Tổng quan đánh giá tháng 03/2030</h1>" in html and "Hồ sơ theo bước" in html and ">82,33</td>" in html
    charts = json.loads(re.search(r'id="dashboard-data">(.*?)</script>', html, re.S).group(1))
    assert charts["levels"]["labels"][0] == "Loại A" and charts["texts"]["mean"] == "Điểm trung bình"


def test_lists_in_english(month):
    client = month
    login(client, "nva")
    html = get(client, f"/dashboard/evaluations?unit=SNV&period={PERIOD}&lang=en")
    for text in (
        "<h1>Evaluations</h1>",
        ">Unit (with its sub-units)</label>",
        ">Filter</button>",
        "Save this filter",
        'data-label="Total"',
        "12 results",
        "Clear filters",
        ">Not finished</option>",
        ">Waiting at step</label>",
        "Self-evaluation and scoring",
    ):
        assert text in html, text
    for text in ("Danh sách hồ sơ", "Bộ lọc", "kết quả", "Chưa xong", "Tất cả"):
        assert text not in html, text

    html = get(client, f"/dashboard/tasks?unit=SNV&period={PERIOD}&status=ready&lang=en")
    for text in ("<h1>Tasks</h1>", ">Held by</th>", ">Waiting</option>", "Direct manager&#39;s review and scoring"):
        assert text in html, text
    assert "Người giữ" not in html and "Danh sách việc" not in html

    bad = client.get("/dashboard/evaluations?period=2030-13&lang=en")
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "The period must be YYYY-MM, got &#39;2030-13&#39;." in html
    assert "Kỳ đánh giá phải có dạng" not in html

    html = get(client, f"/dashboard/evaluations?unit=SNV&period={PERIOD}&lang=vi")
    assert "<h1>Danh sách hồ sơ đánh giá</h1>" in html and "12 kết quả" in html and ">Lọc</button>" in html


def test_sheet_in_english(month):
    client = month
    login(client, "ttb")
    html = get(client, f"/instances/{instance_id('ttb')}/sheet?lang=en")
    for text in (
        "MONTHLY EVALUATION AND CLASSIFICATION SHEET",
        "Month 03, 2030",
        "SOCIALIST REPUBLIC OF VIETNAM",
        "I. Scores",
        "Bonus points",
        "A — Excellently completed duties",
        "DIRECT MANAGER",
        "(Signature and full name)",
        "Print the sheet",
    ):
        assert text in html, text
    for text in ("PHIẾU ĐÁNH GIÁ", "Kết quả chấm điểm", "Hoàn thành xuất sắc", "Ký, ghi rõ họ tên"):
        assert text not in html, text
    html = get(client, f"/instances/{instance_id('ttb')}/sheet?lang=vi")
    assert "PHIẾU ĐÁNH GIÁ, XẾP LOẠI CHẤT LƯỢNG HẰNG THÁNG" in html and "A — Hoàn thành xuất sắc nhiệm vụ" in html


def test_reports_and_open_month_in_english(client):
    quarter_data()
    login(client, "nva")
    html = get(client, "/reports/rollup?unit=SNV&range=2030-Q1&lang=en")
    for text in (
        "<h1>Evaluation roll-up, Q1 2030 — SNV</h1>",
        "Average score",
        "Months evaluated",
        "Months at level A",
        'title="Month 01/2030">Jan</abbr>',
        ">N/E</abbr>",
        "89.5",
        "79.4",
        "«N/E»",
    ):
        assert text in html, text
    for text in ("Tổng hợp kết quả", "quý I/2030", "KĐG", "89,5", "Điểm trung bình"):
        assert text not in html, text
    assert "year 2030" in get(client, "/reports/rollup?unit=SNV&range=2030&lang=en")
    bad = get(client, "/reports/rollup?unit=SNV&range=2030-Q7&lang=en", 400)
    assert "The range must be YYYY-Qn" in bad and "Kỳ tổng hợp phải" not in bad

    html = get(client, "/reports/rollup?unit=SNV&range=2030-Q1&lang=vi")
    assert "quý I/2030" in html and "89,5" in html and "KĐG" in html and "Điểm trung bình" in html
    bad = get(client, "/reports/rollup?unit=SNV&range=2030-Q7", 400)
    assert "Kỳ tổng hợp phải có dạng" in bad and "The range must be YYYY-Qn" not in bad  # one language

    # the old report and list lead to the one list, with the same unit and month, in English
    assert (
        client.get("/reports/monthly?unit=SNV&period=2030-01&lang=en").headers["Location"]
        == "/dashboard/evaluations?unit=SNV&period=2030-01"
    )
    assert client.get("/instances?period=2030-01").headers["Location"] == "/dashboard/evaluations?period=2030-01"
    html = get(client, "/dashboard/evaluations?unit=SNV&period=2030-01&lang=en")
    assert "<h1>Evaluations</h1>" in html and ">Self score</th>" in html and "Danh sách hồ sơ" not in html
    html = get(client, "/months/open?lang=en")
    assert "<h1>Open an evaluation month</h1>" in html and "Include the sub-units" in html
    assert "Mở kỳ đánh giá" not in html and not VIETNAMESE.search(text_of(html))
    # the texts the progress script shows come from the page, in its language
    assert 'data-text-running="Opening…"' in html and "Opened {period}: {started} new evaluations" in html
    assert "{done}/{total} people" in html and "Connection lost; press “Open month” again" in html
    html = get(client, "/months/open?lang=vi")
    assert 'data-text-done="Đã mở kỳ {period}: {started} hồ sơ mới, {skipped} đã có từ trước."' in html
    assert "Mất kết nối" in html and "Connection lost" not in html


def test_operations_flashes_and_notices_in_english(client):
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Notification
    from app.services.evaluation import cycles

    from .conftest import user

    cycles.open_month("SNV-TCCB", PERIOD)
    db.session.commit()
    ttb = instance_id("ttb")
    login(client, "nva")
    page = get(client, f"/instances/{ttb}?lang=en")
    token = csrf_token(page)
    refused = client.post(
        f"/operations/instances/{ttb}/suspend", data={"csrf_token": token, "reason": "x"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "A reason is required (at least 5 characters)." in refused and "Cần ghi rõ lý do" not in refused
    done = client.post(
        f"/operations/instances/{ttb}/terminate",
        data={"csrf_token": token, "reason": "Mở nhầm kỳ"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "The evaluation is cancelled." in done and "Đã hủy hồ sơ." not in done
    notice = db.session.scalars(
        select(Notification).where(Notification.user_id == user("ttb").id, Notification.kind == "terminated")
    ).one()
    assert notice.message.startswith("Hồ sơ đánh giá tháng 2030-03 đã bị hủy.")
    assert notice.message_en == "Your evaluation for 2030-03 was cancelled. Reason: Mở nhầm kỳ"
