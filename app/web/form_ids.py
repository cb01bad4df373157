"""Ids ticked in an HTML form (checkboxes named `task_id`, `instance_id`, `user_id`).

`str.isdigit` is true for "²" or "٣", which `int()` refuses, and a 20-digit id overflows the database's
integer column: both were a 500, and so was an id of more than 4,300 digits (int() refuses those). An id
is at most ten ASCII digits within the column's range, anything else names nothing (the use case then
says that nothing was chosen)."""

from __future__ import annotations

from flask import request

MAX_ID = 2**31 - 1


def form_ids(name: str, limit: int | None = None) -> list[int]:
    values = (v.strip() for v in request.form.getlist(name))
    ids = [int(v) for v in values if v.isascii() and v.isdigit() and len(v) <= 10 and 0 < int(v) <= MAX_ID]
    return ids[:limit] if limit is not None else ids
