"""gunicorn settings: `gunicorn -c gunicorn.conf.py 'app:create_app()'` (docs/operations.md).

Each gunicorn worker is its own process with its own Prometheus counters; prometheus-client's
multiprocess mode has them write to files in PROMETHEUS_MULTIPROC_DIR so that a scrape of any worker
reports the sum. The directory must exist and be empty when gunicorn starts (stale files from a
previous run would be added in), so it is wiped here, before any worker imports prometheus_client."""
import os
import shutil
import tempfile

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None

_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.path.join(tempfile.gettempdir(), f"danhgia-prom-{os.getpid()}")
shutil.rmtree(_dir, ignore_errors=True)
os.makedirs(_dir, exist_ok=True)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = _dir


def child_exit(server, worker):
    # a dead worker's live gauges must not be summed any more (its counters stay, as they should)
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)
