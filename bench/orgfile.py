"""The organisation import at city scale: a generated city file (the shape of demo/org.json) imported
into an empty database with `orgimport.import_org` (what `flask import-org` runs), then imported again
unchanged. Run alone with `python -m bench.orgfile`, or as the first step of `python -m bench`.

Shape: city leadership HN, agencies HN-Annn (one per 20 units), divisions HN-Annn-Dnn; every unit's
head is its first person; staff report to their division's head, division heads to the agency's head,
agency heads to the city's head; one HR officer per agency; one address per person on the agency's domain.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.city import GIVEN, MIDDLE, SURNAMES

BEFORE_MS_PER_PERSON = 85.0  # one scrypt hash and ORM object per person (506 people: 42.8 s)


def city_file(path: Path, people: int, units: int, seed: int = 11) -> dict:
    rnd = random.Random(seed)
    units = max(units, 3)
    n_agencies = max(1, round((units - 1) / 20))
    divisions = units - 1 - n_agencies
    unit_rows = [{"code": "HN", "name": "Thành phố Hà Nội (lãnh đạo thành phố)", "parent": None, "is_agency": True}]
    agency_of = {"HN": "HN"}
    for a in range(1, n_agencies + 1):
        code = f"HN-A{a:03d}"
        unit_rows.append({"code": code, "name": f"Cơ quan {a:03d}", "parent": "HN", "is_agency": True})
        agency_of[code] = code
        for d in range(1, divisions // n_agencies + (a <= divisions % n_agencies) + 1):
            div = f"{code}-D{d:02d}"
            unit_rows.append(
                {"code": div, "name": f"Phòng {d:02d} – cơ quan {a:03d}", "parent": code, "is_agency": False}
            )
            agency_of[div] = code
    codes = [u["code"] for u in unit_rows]
    parent = {u["code"]: u["parent"] for u in unit_rows}
    per_unit = dict.fromkeys(codes, 1)
    for _ in range(max(people - len(codes), 0)):
        per_unit[codes[1 + rnd.randrange(len(codes) - 1)]] += 1
    head = {code: f"u{i + 1:06d}" for i, code in enumerate(codes)}
    rows, n = [], 0

    def person(username, unit, group, manager, roles):
        domain = agency_of[unit].lower().replace("-", "") + ".hanoi.gov.vn"
        rows.append(
            {
                "username": username,
                "full_name": f"{rnd.choice(SURNAMES)} {rnd.choice(MIDDLE)} {rnd.choice(GIVEN)}",
                "email": f"{username}@{domain}",
                "unit": unit,
                "position_group": group,
                "manager": manager,
                "roles": roles,
            }
        )

    for code in codes:
        n += 1
        person(head[code], code, "leader", head[parent[code]] if parent[code] else None, [])
    hr_done = set()
    for code in codes:
        for _ in range(per_unit[code] - 1):
            n += 1
            roles = []
            if code != agency_of[code] and agency_of[code] not in hr_done:
                roles = ["hr_officer"]
                hr_done.add(agency_of[code])
            person(f"u{n:06d}", code, "staff", head[code], roles)
    payload = {"units": unit_rows, "people": rows, "heads": [{"unit": c, "username": head[c]} for c in codes]}
    path.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    return {"people": len(rows), "units": len(unit_rows), "agencies": n_agencies, "bytes": path.stat().st_size}


def _reporter(run: str, began: float, say):
    last = [began]

    def progress(done: int, total: int) -> None:
        if time.perf_counter() - last[0] > 20 or done >= total:
            last[0] = time.perf_counter()
            say(f"  {run}: {done:,}/{total:,} after {last[0] - began:.0f} s")

    return progress


def measure(url: str, people: int, units: int, say=print) -> dict:
    """Drop and create the database at `url`, import the city file twice; the figures."""
    from bench.__main__ import recreate

    recreate(url)
    from app import create_app
    from app.extensions import db
    from app.services.organisation import orgimport

    workdir = Path(tempfile.mkdtemp(prefix="danhgia-bench-import-"))
    os.environ.setdefault("INSTANCE_PATH", str(workdir))
    path = workdir / "city.json"
    shape = city_file(path, people, units)
    say(
        f"import: city file {path} ({shape['people']:,} people, {shape['units']:,} units, "
        f"{shape['bytes'] / 1e6:.0f} MB)"
    )
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-secret-key"})
    out = {"shape": shape}
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        for run in ("first", "again"):
            began = time.perf_counter()
            out[run] = {
                "seconds": 0.0,
                **orgimport.import_org(orgimport.read_file(path), on_progress=_reporter(run, began, say)),
            }
            out[run]["seconds"] = time.perf_counter() - began
            say(f"import ({run}): {out[run]['seconds']:.1f} s {out[run]}")
        db.session.remove()
        db.engine.dispose()
    path.unlink()
    return out


def report_lines(r: dict) -> list[str]:
    first, again, n = r["first"], r["again"], r["shape"]["people"]
    before_s = BEFORE_MS_PER_PERSON * n / 1000
    return [
        f"{'org import of {0:,} people in {1:,} units (s; ms/person)'.format(n, r['shape']['units']):<58} "
        f"{first['seconds']:>10.0f} {1000 * first['seconds'] / n:>6.2f} {'<= 300 s':>14}",
        f"{'  before: one scrypt hash per person, 85 ms/person (s)':<58} {before_s:>10.0f} {before_s / 3600:>5.1f} h",
        f"{'  re-import unchanged (s; rows written)':<58} {again['seconds']:>10.1f} "
        f"{again['people_created'] + again['people_updated'] + again['units_written']:>6} {'<= 60 s':>14}",
    ]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench.orgfile", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--people", type=int, default=200_000)
    ap.add_argument("--units", type=int, default=3_000)
    ap.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/danhgia_bench_import")
    args = ap.parse_args(argv)
    url = args.db.replace("postgresql://", "postgresql+psycopg://", 1)
    from bench.__main__ import say

    r = measure(url, args.people, args.units, say)
    print("\n".join([f"{'measure':<58} {'result':>17} {'target':>14}", "-" * 92] + report_lines(r)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
