"""Unit tests of a script task, kept beside it in the diagram as SpiffArena keeps them:

    <spiffworkflow:unitTests>
      <spiffworkflow:unitTest id="total_counts_the_bonus">
        <spiffworkflow:inputJson>{"review": {...}, "criteria": [...]}</spiffworkflow:inputJson>
        <spiffworkflow:expectedOutputJson>{"review": {...}, "criteria": [...], "total": 87.5}</spiffworkflow:expectedOutputJson>
      </spiffworkflow:unitTest>
    </spiffworkflow:unitTests>

The script runs in the same restricted environment as in a month, on the input alone, with the
default working-day calendar; the data it leaves must equal the expected output (as SpiffArena
compares). Nothing here reads the database.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from lxml import etree

from . import helpers, sandbox

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
log = logging.getLogger(__name__)


@dataclass
class Outcome:
    test_id: str
    passed: bool
    vi: str = ""
    en: str = ""


def tests_of(task_el: etree._Element) -> list[tuple[str, str, str]]:
    """(id, input JSON, expected output JSON) of each unit test of a script task element."""
    out = []
    for test in task_el.iter(f"{{{SPIFF_NS}}}unitTest"):
        inp = next((c.text or "" for c in test if etree.QName(c).localname == "inputJson"), "")
        exp = next((c.text or "" for c in test if etree.QName(c).localname == "expectedOutputJson"), "")
        out.append((test.get("id") or "", inp, exp))
    return out


def _normal(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str, sort_keys=True))


def run(script: str, test_id: str, input_json: str, expected_json: str) -> Outcome:
    try:
        data = json.loads(input_json or "{}")
        expected = json.loads(expected_json or "{}")
    except (ValueError, RecursionError) as exc:
        return Outcome(
            test_id, False, f"kiểm thử {test_id}: JSON không hợp lệ: {exc}", f"test {test_id}: invalid JSON: {exc}"
        )
    if not isinstance(data, dict) or not isinstance(expected, dict):
        return Outcome(
            test_id,
            False,
            f"kiểm thử {test_id}: đầu vào và kết quả mong đợi phải là đối tượng JSON",
            f"test {test_id}: the input and the expected output must be JSON objects",
        )
    env = sandbox.SCRIPT_ENGINE.environment
    box: list[Any] = []
    token = helpers.outbox.set(box)
    try:
        env.execute(script, data)
    except Exception as exc:  # the script's own failure is the test's result
        log.info("script unit test %s failed: %r", test_id, exc)
        return Outcome(
            test_id,
            False,
            f"kiểm thử {test_id}: mã lệnh lỗi: {type(exc).__name__}: {exc}",
            f"test {test_id}: the script fails: {type(exc).__name__}: {exc}",
        )
    finally:
        helpers.outbox.reset(token)
    actual = _normal(data)
    if actual == _normal(expected):
        return Outcome(test_id, True)
    keys = sorted(set(actual) | set(expected))
    diff = [
        f"{k}: {json.dumps(expected.get(k, '∅'), ensure_ascii=False, default=str)} ≠ "
        f"{json.dumps(actual.get(k, '∅'), ensure_ascii=False, default=str)}"
        for k in keys
        if actual.get(k, "∅") != _normal(expected).get(k, "∅")
    ]
    detail = "; ".join(diff)[:600]
    return Outcome(
        test_id,
        False,
        f"kiểm thử {test_id}: kết quả khác mong đợi (mong đợi ≠ thực tế): {detail}",
        f"test {test_id}: the result differs (expected ≠ actual): {detail}",
    )
