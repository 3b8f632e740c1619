"""A small face over the minio client: bytes and JSON in and out of one bucket.

The pipeline needs only a handful of operations; keeping them here means a
stage never builds S3 requests itself, and any S3-compatible server (MinIO,
SeaweedFS, AWS) works unchanged.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

from minio import Minio
from minio.error import S3Error

from pipeline.settings import Settings


def client(settings: Settings) -> Minio:
    if not settings.s3_access_key or not settings.s3_secret_key:
        raise RuntimeError(
            "no S3 credentials: set SOHOA_S3_ACCESS_KEY and SOHOA_S3_SECRET_KEY, "
            "or start the local stack with `sohoa stack up`"
        )
    return Minio(
        settings.s3_address,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key,
        secure=settings.s3_secure,
        region=settings.s3_region,
    )


class Bucket:
    """One bucket of the S3 server; keys are plain strings like '{dossier_id}/x.json'."""

    def __init__(self, minio: Minio, name: str) -> None:
        self.minio = minio
        self.name = name

    def ensure(self) -> None:
        if not self.minio.bucket_exists(self.name):
            self.minio.make_bucket(self.name)

    def put(self, key: str, data: bytes, content_type: str, metadata: dict[str, str] | None = None) -> None:
        """Write one object. Metadata values must be ASCII (S3 clients refuse the rest)."""
        self.minio.put_object(
            self.name, key, io.BytesIO(data), len(data), content_type=content_type, metadata=metadata
        )

    def put_json(self, key: str, value: Any, metadata: dict[str, str] | None = None) -> bytes:
        data = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self.put(key, data, "application/json", metadata)
        return data

    def get(self, key: str) -> bytes:
        response = self.minio.get_object(self.name, key)
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def get_json(self, key: str) -> Any:
        return json.loads(self.get(key))

    def get_json_or_none(self, key: str) -> Any | None:
        try:
            return self.get_json(key)
        except S3Error as exc:
            if exc.code == "NoSuchKey":
                return None
            raise

    def exists(self, key: str) -> bool:
        try:
            self.minio.stat_object(self.name, key)
            return True
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject"):
                return False
            raise

    def download(self, key: str, path: str) -> None:
        self.minio.fget_object(self.name, key, path)

    def upload(self, key: str, path: str, content_type: str) -> None:
        self.minio.fput_object(self.name, key, path, content_type=content_type)

    def metadata(self, key: str) -> dict[str, str]:
        """The object's user metadata, names without the x-amz-meta- prefix."""
        headers = self.minio.stat_object(self.name, key).metadata
        prefix = "x-amz-meta-"
        return {k.lower()[len(prefix):]: v for k, v in headers.items() if k.lower().startswith(prefix)}

    def keys(self, prefix: str) -> Iterator[str]:
        for obj in self.minio.list_objects(self.name, prefix=prefix, recursive=True):
            yield obj.object_name

    def delete_prefix(self, prefix: str) -> None:
        for key in list(self.keys(prefix)):
            self.minio.remove_object(self.name, key)


def buckets(settings: Settings) -> tuple[Bucket, Bucket]:
    """The record bucket and the staging bucket, created if missing."""
    minio = client(settings)
    records, staging = Bucket(minio, settings.bucket), Bucket(minio, settings.staging_bucket)
    records.ensure()
    staging.ensure()
    return records, staging
