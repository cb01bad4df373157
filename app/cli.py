"""Commands: import-org, open-month, timers run, worker, mail send, accounts, seed-process, demo."""

from __future__ import annotations

import io
import json
import logging
import sys
import time
import math
from datetime import datetime, timezone
from pathlib import Path

import click
from flask import Flask

from .engine import clock
from .services import transaction
from .services.evaluation import cycles, overdue, timers
from .services.messaging import mail
from .services.organisation import orgimport
from .services.process_design import versions
from .services.reporting import dashboard, summary
from .services.errors import ServiceError


def _interval(ctx, param, value: float) -> float:
    """A poll interval the loop can sleep: `nan` or a negative one crashed the worker after its first round."""
    if not (math.isfinite(value) and 0 <= value <= 86400):
        raise click.BadParameter("từ 0 đến 86400 giây / from 0 to 86400 seconds")
    return value


def _fail(exc: ServiceError):
    lines = [exc.message] + [f"  - {d.get('message', d)}" for d in exc.details]
    raise click.ClickException("\n".join(lines))


def _send_mail(now: datetime | None = None) -> int:
    """Send due mail; a failure here (even a database one) is logged and never stops the timers."""
    try:
        with transaction.committed():
            return mail.send_due(now)
    except Exception:
        logging.getLogger(__name__).exception("sending mail failed")
        return 0


def _guarded(job) -> int:
    """Run one of the worker's jobs in a transaction of its own (the job may commit its items
    itself, one instance or chunk at a time); an error (the database restarting, say) is logged
    and the loop goes on: what the job committed stays, the rest is retried on the next poll."""
    try:
        with transaction.committed():
            return job()
    except Exception:
        logging.getLogger(__name__).exception("worker: %s failed", getattr(job, "__qualname__", job))
        return 0


def register_commands(app: Flask) -> None:
    @app.cli.command("import-org")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    @click.option(
        "--progress/--no-progress",
        default=None,
        help="progress bar on stderr (default: on a terminal; otherwise a line every 5%)",
    )
    def import_org(path, progress):
        """Create or update units, people and heads from a JSON, CSV or XLSX file (all or nothing).
        New people get no password: they activate their account (`flask accounts send-activation`,
        or a code their HR officer prints)."""
        tty = sys.stderr.isatty()
        show = tty if progress is None else progress
        label = Path(path).name
        with click.progressbar(length=1, label=label, file=sys.stderr if show and tty else io.StringIO()) as bar:
            logged = [0]

            def advance(done: int, total: int) -> None:
                bar.length = max(total, 1)
                bar.update(done - bar.pos)
                if show and not tty and (done >= total or done - logged[0] >= max(total // 20, 1)):
                    logged[0] = done  # a line every 5% when stderr is not a terminal
                    click.echo(f"{label}: {done}/{total} ({100 * done // max(total, 1)}%)", err=True)

            try:
                with transaction.committed():
                    result = orgimport.import_org(orgimport.read_file(path), on_progress=advance)
            except ServiceError as exc:
                _fail(exc)
            except (json.JSONDecodeError, ValueError, UnicodeDecodeError) as exc:
                raise click.ClickException(f"Tệp không hợp lệ / invalid file: {exc}")
        click.echo(
            f"Đã nhập {result['units']} đơn vị, {result['people']} người, {result['heads']} thủ trưởng: "
            f"{result['people_created']} người mới, {result['people_updated']} cập nhật, "
            f"{result['people_unchanged']} không đổi, {result['transfers']} chuyển đơn vị."
        )
        if result["people_created"]:
            click.echo(
                "Người mới chưa có mật khẩu: gửi thư kích hoạt bằng `flask accounts send-activation`, "
                "hoặc cán bộ tổ chức in mã kích hoạt tại trang Kích hoạt tài khoản."
            )

    @app.cli.command("open-month")
    @click.option(
        "--unit",
        "unit_code",
        required=True,
        help="unit code; the city's root unit with --include-subunits opens the whole city",
    )
    @click.option("--period", required=True, help="YYYY-MM")
    @click.option("--include-subunits", is_flag=True)
    @click.option(
        "--chunk-size",
        default=cycles.CHUNK,
        show_default=True,
        type=click.IntRange(1, 10_000),
        help="people per transaction",
    )
    @click.option("--progress/--no-progress", default=None, help="progress bar on stderr (default: on a terminal)")
    def open_month(unit_code, period, include_subunits, chunk_size, progress):
        """Start the month's evaluations for a unit (idempotent and resumable: run it again after an
        interruption, or later for people who joined since, and it starts only who is missing)."""
        with transaction.committed():
            versions.sync_from_disk()
        try:
            opening = cycles.plan(unit_code, period, include_subunits)
            tty = sys.stderr.isatty()
            show = tty if progress is None else progress
            label = f"{opening.unit.code} {period}"
            with click.progressbar(
                length=max(opening.total, 1),
                label=label,
                file=sys.stderr if show and tty else io.StringIO(),
                item_show_func=lambda p: p and f"started={p.started} skipped={p.skipped}",
            ) as bar:
                logged = [0]

                def advance(p: cycles.Progress) -> None:
                    bar.update(min(p.done, bar.length) - bar.pos, p)
                    if show and not tty and (p.finished or p.done - logged[0] >= max(opening.total // 20, 1)):
                        logged[0] = p.done  # a log line every 5% when stderr is not a terminal
                        click.echo(
                            f"{label}: {p.done}/{opening.total} started={p.started} skipped={p.skipped}", err=True
                        )

                done = cycles.run(opening, chunk_size, advance)
            with transaction.committed():
                cycles.record_opened(opening, done)
        except ServiceError as exc:
            _fail(exc)
        click.echo(f"started={done.started} skipped={done.skipped}")

    @app.cli.command("seed-process")
    def seed_process():
        """Publish processes/ and forms/ as a new version if they changed."""
        with transaction.committed():
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
            try:
                # an instant at either end of the calendar overflows once in UTC, or once a timer adds a day
                in_range = 2000 <= now.astimezone(timezone.utc).year <= 2999
            except OverflowError:
                in_range = False
            if not in_range:
                raise click.ClickException(
                    f"--now phải trong khoảng năm 2000-2999 / --now must be within the years 2000-2999: {now_text!r}"
                )
        # One clock for the whole run: timers, the overdue sweep, the digest, when mail is due and its
        # back-off all read --now (mail queued during the run too, through app.engine.clock).
        with clock.frozen_at(now):
            with transaction.committed():
                click.echo(f"fired={timers.run_due(now)}")
                click.echo(f"overdue={overdue.sweep(now)}")
            click.echo(f"summary_folded={_guarded(summary.fold)}")
            _guarded(lambda: dashboard.refresh_city_overdue(now))
            click.echo(f"digests={_guarded(lambda: mail.send_digests(now))}")
            click.echo(f"mail_sent={_send_mail(now)}")

    @app.cli.command("worker")
    @click.option("--interval", default=30.0, callback=_interval, help="seconds between polls (0 to 86400)")
    @click.option("--once", is_flag=True)
    @click.option(
        "--metrics-port",
        type=click.IntRange(0, 65535),
        default=None,
        envvar="WORKER_METRICS_PORT",
        help="serve Prometheus metrics on this port (0/unset: none)",
    )
    @click.option(
        "--metrics-addr",
        default="127.0.0.1",
        envvar="WORKER_METRICS_ADDR",
        show_default=True,
        help="address the metrics port listens on",
    )
    def worker(interval, once, metrics_port, metrics_addr):
        """Fire due timers, flag overdue tasks and send queued mail in a loop. Run as many as you like
        (on one host or several): each claims its rows with FOR UPDATE SKIP LOCKED and commits per
        instance (per chunk for overdue notices, per mail), so every timer fires once and a killed
        worker leaves nothing half-done."""
        from flask import current_app

        from .services import metrics

        if metrics_port:
            metrics.start_worker_server(current_app._get_current_object(), metrics_port, metrics_addr)
            click.echo(f"worker: metrics on http://{metrics_addr}:{metrics_port}/metrics")
        click.echo(f"worker: polling every {interval:g}s")
        while True:
            fired, late = _guarded(timers.run_due), _guarded(overdue.sweep)
            metrics.TIMERS_FIRED.inc(fired)
            _guarded(summary.fold)  # the city dashboard's monthly summary catches up
            _guarded(dashboard.refresh_city_overdue)  # and its count of overdue tasks
            if fired or late:
                click.echo(f"{datetime.now().isoformat(timespec='seconds')} fired={fired} overdue={late}")
            digests = _guarded(mail.send_digests)  # once a day per person who chose the daily digest
            if digests:
                click.echo(f"{datetime.now().isoformat(timespec='seconds')} digests={digests}")
            sent = _send_mail()
            metrics.MAIL_SENT.inc(sent)
            if sent:
                click.echo(f"{datetime.now().isoformat(timespec='seconds')} mail_sent={sent}")
            if once:
                break
            time.sleep(interval)

    @app.cli.group("summary")
    def summary_group():
        """The city dashboard's monthly summary."""

    @summary_group.command("fold")
    def summary_fold():
        """Fold the waiting changes into the summary now (the worker does it on every poll)."""
        with transaction.committed():
            click.echo(f"folded={summary.fold()}")

    @summary_group.command("rebuild")
    def summary_rebuild():
        """Recompute the summary from the evaluation records (a repair; blocks record changes while it runs)."""
        with transaction.committed():
            click.echo(f"rows={summary.rebuild()}")

    @app.cli.group("mail")
    def mail_group():
        """Outgoing e-mail."""

    @mail_group.command("send")
    def mail_send():
        """Send the queued mail that is due and exit."""
        click.echo(f"mail_sent={_send_mail()}")

    @app.cli.group("accounts")
    def accounts_group():
        """People's accounts."""

    @accounts_group.command("send-activation")
    @click.option("--unit", "unit_code", default=None, help="only this unit and the units below it")
    def send_activation(unit_code):
        """Queue an activation mail for everyone who has not activated their account and has an e-mail
        address (people with an activation link still open are skipped: run it again any time). The worker
        sends the mail; people without an address get a printed code from their HR officer."""
        from .services.organisation import activation

        try:
            with transaction.committed():
                counts = activation.send_activations(unit_code)
        except ServiceError as exc:
            _fail(exc)
        click.echo(f"queued={counts['queued']} no_email={counts['no_email']}")

    @accounts_group.command("sso-unbind")
    @click.argument("username")
    @click.option("--yes", is_flag=True, help="do not ask for confirmation")
    def sso_unbind(username, yes):
        """Unlink USERNAME from the city account bound at their first sign-in (users.sso_subject), for
        when the city reissued their account: the next sign-in with the city's account binds the new one.
        Audited (sso_subject_unbound, with the operator's login name)."""
        import getpass

        from .services.organisation import sso

        if not yes:
            click.confirm(
                f"Gỡ liên kết tài khoản thành phố của {username}? / Unlink the city account of {username}?",
                abort=True,
            )
        try:
            operator = getpass.getuser()
        except Exception:  # no login name (a container without a passwd entry): the row still says "cli"
            operator = ""
        try:
            with transaction.committed():
                person = sso.unbind(None, username, confirmed=True, source="cli", operator=operator)
                name = person.username
        except ServiceError as exc:
            _fail(exc)
        click.echo(f"unbound={name}")

    @app.cli.command("demo")
    @click.option(
        "--month",
        "month",
        default=None,
        metavar="YYYY-MM",
        help="Also open this month (before it ends) with a registered, approved work plan for everyone.",
    )
    def demo(month):
        """Load the demo organisation and print its logins (idempotent)."""
        from .demo import demo_month, load_demo

        for line in load_demo():
            click.echo(line)
        if month:
            try:
                for line in demo_month(month):
                    click.echo(line)
            except ServiceError as exc:
                _fail(exc)
