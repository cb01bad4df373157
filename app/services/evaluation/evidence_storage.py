"""Where the bytes of evidence files live: the file system (default) or an S3-compatible bucket.

Each stored row names its backend ("fs" or "s3"), so turning S3 on later still serves the files stored
before. Keys are made by the app (`<instance id>/<random hex>`), never from a user's file name, so a name
cannot reach outside the store.

Configuration (app/config.py): EVIDENCE_ROOT (default `<instance folder>/evidence`); S3 when
EVIDENCE_S3_BUCKET is set, with EVIDENCE_S3_ENDPOINT (MinIO, Ceph, …; empty = AWS), EVIDENCE_S3_REGION,
EVIDENCE_S3_PREFIX and the keys EVIDENCE_S3_ACCESS_KEY / EVIDENCE_S3_SECRET_KEY (else boto3's own
environment and credential chain)."""

from __future__ import annotations

import io
import os
import secrets
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import current_app


class Storage(Protocol):
    name: str

    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def open(self, key: str) -> BinaryIO: ...

    def delete(self, key: str) -> None: ...


class FileSystemStorage:
    name = "fs"

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:  # keys are ours, but a tampered row must not escape
            raise ValueError(f"storage key outside the store: {key!r}")
        return path

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # written aside then renamed: a crash never leaves half a file under the final name
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def open(self, key: str) -> BinaryIO:
        return open(self._path(key), "rb")

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class S3Storage:
    name = "s3"

    def __init__(
        self,
        bucket: str,
        *,
        endpoint: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        prefix: str = "",
    ):
        import boto3
        from botocore.config import Config

        self.bucket, self.prefix = bucket, prefix.strip("/")
        # a person waits on the upload: an unreachable store fails in seconds, not after minutes of retries
        config = Config(connect_timeout=5, read_timeout=60, retries={"max_attempts": 2, "mode": "standard"})
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint or None,
            region_name=region or None,
            aws_access_key_id=access_key or None,
            aws_secret_access_key=secret_key or None,
            config=config,
        )

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type)

    def open(self, key: str) -> BinaryIO:
        # read whole (a file is at most EVIDENCE_MAX_FILE_MB): the response then knows its length and the
        # connection to the bucket is not held while a slow phone downloads
        body = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        try:
            return io.BytesIO(body.read())
        finally:
            body.close()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))


_cache: dict[tuple, Storage] = {}


def backend(name: str | None = None) -> Storage:
    """The store new files go to (name None), or the one a stored row names."""
    cfg = current_app.config
    if name is None:
        name = "s3" if cfg.get("EVIDENCE_S3_BUCKET") else "fs"
    if name == "s3":
        key = ("s3", cfg.get("EVIDENCE_S3_BUCKET"), cfg.get("EVIDENCE_S3_ENDPOINT"), cfg.get("EVIDENCE_S3_PREFIX"))
        if key not in _cache:
            _cache[key] = S3Storage(
                cfg["EVIDENCE_S3_BUCKET"],
                endpoint=cfg.get("EVIDENCE_S3_ENDPOINT"),
                region=cfg.get("EVIDENCE_S3_REGION"),
                access_key=cfg.get("EVIDENCE_S3_ACCESS_KEY"),
                secret_key=cfg.get("EVIDENCE_S3_SECRET_KEY"),
                prefix=cfg.get("EVIDENCE_S3_PREFIX") or "",
            )
        return _cache[key]
    root = cfg.get("EVIDENCE_ROOT") or os.path.join(current_app.instance_path, "evidence")
    return FileSystemStorage(root)


def new_key(instance_id: int) -> str:
    return f"{int(instance_id)}/{secrets.token_hex(16)}"
