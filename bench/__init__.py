"""The benchmark: a synthetic city, month opening, inbox/dashboard latency, completions under gunicorn.

Run with `make bench` (or `.venv/bin/python -m bench --help`). It uses its own PostgreSQL database
(default `danhgia_bench`), which it drops and recreates; never point it at a database you care about.
"""
