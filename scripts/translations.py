"""Rebuild the English catalog: extract the marked texts (app/**.py and templates), give each its English
from scripts/translations_en.py, write app/translations/en/LC_MESSAGES/messages.po and compile the .mo.
Run by `make translations` (part of `make setup`); the .po and .mo are kept in the tree as well."""

from __future__ import annotations

import os
import subprocess
import sys

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from translations_en import EN

POT = os.path.join(ROOT, "app", "translations", "messages.pot")
OUT = os.path.join(ROOT, "app", "translations", "en", "LC_MESSAGES")


def main() -> int:
    pybabel = os.path.join(os.path.dirname(sys.executable), "pybabel")
    subprocess.run(
        [
            pybabel,
            "-q",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "N_",
            "-k",
            "_",
            "-k",
            "translate_in:2",
            "--no-location",
            "--sort-output",
            "-o",
            POT,
            ".",
        ],
        cwd=ROOT,
        check=True,
    )
    with open(POT, "rb") as fh:
        template = read_po(fh)
    catalog = Catalog(locale="en", project="danhgia", charset="utf-8")
    missing = []
    for msg in template:
        if not msg.id:
            continue
        text = EN.get(msg.id)
        if text is None:
            missing.append(msg.id)
        catalog.add(msg.id, text or "", auto_comments=msg.auto_comments)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "messages.po"), "wb") as fh:
        write_po(fh, catalog, width=120, omit_header=False, sort_output=True)
    with open(os.path.join(OUT, "messages.mo"), "wb") as fh:
        write_mo(fh, catalog)
    for m in missing:
        print(f"untranslated: {m!r}", file=sys.stderr)
    print(f"{len(catalog)} messages, {len(missing)} untranslated -> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
