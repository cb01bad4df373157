"""The classification scale (level → lowest total) of the process version a record belongs to.

Versions are immutable and their scale is kept on the cached spec (app.engine.classification), so a
list asks once per version: no snapshot, no version files, no decision table per row.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm.util import identity_key

from app.engine import classification, specs
from app.extensions import db
from app.models import ProcessInstance, ProcessVersion


def of_version(version_id: int) -> Mapping[str, float]:
    """The scale of a version (the row comes from the session's identity map once loaded; its files
    are deferred and only read the first time the process parses the version)."""
    version = db.session.get(ProcessVersion, version_id)
    if version is None:
        return classification.thresholds_default()
    return classification.thresholds(specs.load(version))


def of_instance_ids(instance_ids: set[int]) -> dict[int, Mapping[str, float]]:
    """instance id → its version's scale, in one query for a list."""
    if not instance_ids:
        return {}
    rows = db.session.execute(
        select(ProcessInstance.id, ProcessInstance.version_id).where(ProcessInstance.id.in_(instance_ids))
    ).all()
    by_version = {v: of_version(v) for v in {r.version_id for r in rows}}
    return {r.id: by_version[r.version_id] for r in rows}


def of_instance(instance_id: int | None) -> Mapping[str, float]:
    """The scale of an instance's version; an instance already in the session is not asked for again
    (nor its snapshot loaded: only its version id is read)."""
    if instance_id is None:
        return classification.thresholds_default()
    instance = db.session.identity_map.get(identity_key(ProcessInstance, instance_id))
    if instance is not None:
        return of_version(instance.version_id)
    version_id = db.session.execute(
        select(ProcessInstance.version_id).where(ProcessInstance.id == instance_id)
    ).scalar_one_or_none()
    return of_version(version_id) if version_id is not None else classification.thresholds_default()


def of_record(record) -> Mapping[str, float]:
    """The scale of the version a record's instance runs on."""
    return of_instance(getattr(record, "instance_id", None))
