"""The demo organisation that `make run` loads: Sở Nội vụ under the city leadership."""
from __future__ import annotations

from pathlib import Path

from .services import orgimport, transaction, versions

DEMO_FILE = Path(__file__).resolve().parent.parent / "demo" / "org.json"
DEMO_PASSWORD = "DanhGia@2026"


def load_demo() -> list[str]:
    payload = orgimport.read_file(DEMO_FILE)
    with transaction.committed():          # `flask demo` and the tests' fixtures call it as a command
        versions.sync_from_disk()
        orgimport.import_org(payload)
    lines = ["Tài khoản demo (mật khẩu chung / shared password: %s):" % DEMO_PASSWORD]
    for person in payload["people"]:
        roles = ", ".join(person.get("roles") or []) or person.get("position_group", "")
        lines.append(f"  {person['username']:<8} {person['full_name']:<24} {person['unit']:<10} {roles}")
    return lines
