"""Commands: import-org, open-month, timers run, worker, seed-process, demo."""
from __future__ import annotations

import json
import time
from datetime import datetime

import click
from flask import Flask

from .services import cycles, orgimport, timers, versions
from .services.errors import ServiceError


def _fail(exc: ServiceError):
    lines = [exc.message] + [f"  - {d.get('message', d)}" for d in exc.details]
    raise click.ClickException("\n".join(lines))


def register_commands(app: Flask) -> None:
    @app.cli.command("import-org")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    def import_org(path):
        """Create or update units, people and heads from a JSON, CSV or XLSX file."""
        try:
            result = orgimport.import_org(orgimport.read_file(path))
        except ServiceError as exc:
            _fail(exc)
        except (json.JSONDecodeError, ValueError) as exc:
            raise click.ClickException(f"Tệp không hợp lệ / invalid file: {exc}")
        click.echo(f"Đã nhập {result['units']} đơn vị, {result['people']} người, {result['heads']} thủ trưởng.")
        for username, password in result["passwords"].items():
            click.echo(f"  {username}: {password}")

    @app.cli.command("open-month")
    @click.option("--unit", "unit_code", required=True)
    @click.option("--period", required=True, help="YYYY-MM")
    @click.option("--include-subunits", is_flag=True)
    def open_month(unit_code, period, include_subunits):
        """Start the month's evaluations for a unit (idempotent)."""
        versions.sync_from_disk()
        try:
            result = cycles.open_month(unit_code, period, include_subunits)
        except ServiceError as exc:
            _fail(exc)
        click.echo(f"started={result['started']} skipped={result['skipped']}")

    @app.cli.command("seed-process")
    def seed_process():
        """Publish processes/ and forms/ as a new version if they changed."""
        version = versions.sync_from_disk()
        click.echo(f"{version.process_key} v{version.version} ({version.sha256[:12]})")

    @app.cli.group("timers")
    def timers_group():
        """Timer jobs."""

    @timers_group.command("run")
    @click.option("--now", "now_text", default=None, help="ISO-8601 instant with an offset")
    def timers_run(now_text):
        """Fire every timer due up to now (or --now) and exit."""
        now = None
        if now_text:
            try:
                now = datetime.fromisoformat(now_text)
            except ValueError:
                raise click.ClickException(f"--now phải là ISO-8601, ví dụ 2026-11-06T08:00:00+07:00: {now_text!r}")
            if now.tzinfo is None:
                raise click.ClickException("--now cần múi giờ (ví dụ +07:00) / --now needs an offset")
        click.echo(f"fired={timers.run_due(now)}")

    @app.cli.command("worker")
    @click.option("--interval", default=30.0, help="seconds between polls")
    @click.option("--once", is_flag=True)
    def worker(interval, once):
        """Fire due timers in a loop."""
        click.echo(f"worker: polling every {interval:g}s")
        while True:
            fired = timers.run_due()
            if fired:
                click.echo(f"{datetime.now().isoformat(timespec='seconds')} fired={fired}")
            if once:
                break
            time.sleep(interval)

    @app.cli.command("demo")
    def demo():
        """Load the demo organisation and print its logins (idempotent)."""
        from .demo import load_demo
        for line in load_demo():
            click.echo(line)
