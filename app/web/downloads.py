"""Serving a stored evidence file: always as an attachment, never rendered by the browser.

`nosniff` stops a browser from guessing HTML out of the bytes, and the sandboxing CSP keeps a file that
is opened anyway from running scripts or reaching the app's origin."""

from __future__ import annotations

from flask import send_file


def send_evidence(row, stream):
    response = send_file(
        stream,
        mimetype=row.content_type or "application/octet-stream",
        as_attachment=True,
        download_name=row.name,
        conditional=False,
        etag=False,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    if row.size is not None:
        response.content_length = row.size
    return response
