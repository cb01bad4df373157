"""Reading the audit trail: a person's own history and the administrators' export.

There is deliberately no function here (or anywhere) that updates or deletes an audit event;
on PostgreSQL a trigger refuses it too."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import AuditEvent

from app.services.errors import BadRequest
from .spreadsheet_text import csv_row

HEADER = ["id", "thoi_diem_utc", "nguoi_thuc_hien", "thay_mat", "hanh_dong", "buoc", "ho_so", "chi_tiet"]


def _day(text: str | None, default: date) -> date:
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"Ngày phải có dạng YYYY-MM-DD: {text!r}", f"Dates must be YYYY-MM-DD: {text!r}")


def export_csv(start_text: str | None, end_text: str | None, batch: int = 2000) -> Iterator[str]:
    """CSV lines of every event from `start` to `end` (inclusive, UTC dates), streamed in id order."""
    today = datetime.now(timezone.utc).date()
    start, end = _day(start_text, today - timedelta(days=31)), _day(end_text, today)
    if end < start:
        raise BadRequest("Ngày kết thúc phải sau ngày bắt đầu.", "The end must not be before the start.")
    lo = datetime.combine(start, time.min, timezone.utc)
    # no event is later than today: an end in the future (up to 9999-12-31, whose next day overflows) is today
    hi = datetime.combine(min(end, today) + timedelta(days=1), time.min, timezone.utc)

    def lines():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(HEADER)
        yield "\ufeff" + buffer.getvalue()  # BOM: Excel opens Vietnamese text correctly
        last_id = 0
        while True:
            rows = db.session.scalars(
                select(AuditEvent)
                .options(joinedload(AuditEvent.actor), joinedload(AuditEvent.on_behalf_of))
                .where(AuditEvent.at >= lo, AuditEvent.at < hi, AuditEvent.id > last_id)
                .order_by(AuditEvent.id)
                .limit(batch)
            ).all()
            if not rows:
                return
            buffer.seek(0)
            buffer.truncate()
            for e in rows:
                writer.writerow(
                    csv_row(
                        [
                            e.id,
                            e.at.isoformat(),
                            e.actor.username if e.actor else "",
                            e.on_behalf_of.username if e.on_behalf_of else "",
                            e.action,
                            e.step or "",
                            e.instance_id or "",
                            json.dumps(e.details or {}, ensure_ascii=False),
                        ]
                    )
                )
            last_id = rows[-1].id
            yield buffer.getvalue()

    return lines()
