"""Where sealed documents are kept, behind one interface: a local folder (the default, under KUANXIN_VAR_DIR) or
S3-compatible object storage (KUANXIN_DOCUMENT_STORE=s3://bucket/prefix, KUANXIN_DOCUMENT_STORE_ENDPOINT for one
other than AWS). Object keys are random (`new_object_key`), so no name says whose document it is or can be guessed;
nothing here is ever served by its key: the console reads, opens and serves it to signed-in staff."""
from __future__ import annotations

import functools
import os
import re
import secrets
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from kuanxin.core import settings

OBJECT_KEY = re.compile(r"[A-Za-z0-9_-]{32,128}")


class Missing(Exception):
    """No stored object under that key."""


class Storage(Protocol):
    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...


def new_object_key() -> str:
    return secrets.token_urlsafe(32)  # 256 random bits


def _checked(key: str) -> str:
    if not OBJECT_KEY.fullmatch(key):  # never a path: no separators, no dots
        raise ValueError("not an object key")
    return key


class LocalFolder:
    """One file per object, written whole then renamed into place; readable by this user only."""

    def __init__(self, root: Path):
        self.root = root

    def _path(self, key: str) -> Path:
        key = _checked(key)
        return self.root / key[:2] / key

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = path.with_name(f".{path.name}.partial")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as error:
            raise Missing(key) from error

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class S3Bucket:
    """Objects in an S3-compatible bucket under a prefix. boto3's client, made once; private objects only."""

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None, client=None):
        import boto3
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.client = client or boto3.client("s3", endpoint_url=endpoint_url or None)

    def _name(self, key: str) -> str:
        return f"{self.prefix}/{_checked(key)}" if self.prefix else _checked(key)

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._name(key), Body=data, ACL="private",
                               ContentType="application/octet-stream")

    def get(self, key: str) -> bytes:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._name(key))
        except self.client.exceptions.NoSuchKey as error:
            raise Missing(key) from error
        return answer["Body"].read()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._name(key))


def configured(env=None) -> Storage:
    """The storage KUANXIN_DOCUMENT_STORE names: empty for var/documents, or s3://bucket/prefix."""
    current = settings.of(env)
    where = str(current.value("KUANXIN_DOCUMENT_STORE") or "")  # ValueError naming the variable when malformed
    if not where:
        return LocalFolder(current.var_dir / "documents")
    parts = urlsplit(where)
    return S3Bucket(parts.netloc, parts.path, str(current.value("KUANXIN_DOCUMENT_STORE_ENDPOINT") or "") or None)


@functools.lru_cache(maxsize=1)
def shared() -> Storage:
    """This process's configured storage, made once (every route and channel that keeps documents uses it)."""
    return configured()
