"""The S3 mirror (any S3-compatible endpoint): the only module that imports boto3.

Credentials come from boto3's standard chain of the account running it; on the hub that is
the service account, whose home is the hub root (`<root>/.aws/credentials`, 0600).
Uploads never overwrite (`IfNoneMatch='*'`); large files go in parts, one part in memory.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from git_nbcollab.backup.store import Missing, StoreError

PART = 8 * 1024 * 1024  # boto3's default part size; S3 allows 5 MiB .. 5 GiB, 10,000 parts


def _message(e: Exception) -> str:
    if isinstance(e, ClientError):
        err = e.response.get("Error", {})
        return f"{err.get('Code', '?')}: {err.get('Message', '')}".strip()
    return str(e).splitlines()[0] if str(e) else type(e).__name__


class S3Store:
    def __init__(self, mirror: str, endpoint: str = "") -> None:
        self.url = mirror
        self.bucket, _, prefix = mirror.removeprefix("s3://").partition("/")
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        session = boto3.session.Session()
        self.client: Any = session.client(
            "s3",
            endpoint_url=endpoint or None,
            region_name=session.region_name or "us-east-1",
            config=Config(retries={"max_attempts": 2}, connect_timeout=5, read_timeout=120),
        )

    def _sha(self, key: str) -> str | None:
        """The sha256 recorded on `key`, "" if it has none, None if there is no such key."""
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.prefix + key)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise StoreError(f"cannot read {key} in {self.url}: {_message(e)}") from None
        except BotoCoreError as e:
            raise StoreError(f"cannot reach {self.url}: {_message(e)}") from None
        return str(head.get("Metadata", {}).get("sha256", ""))

    def put(self, key: str, path: Path, sha256: str) -> None:
        there = self._sha(key)
        if there is None:
            try:
                self._upload(key, path, sha256)
                return
            except ClientError as e:
                if e.response.get("Error", {}).get("Code") not in ("PreconditionFailed", "412"):
                    raise StoreError(f"cannot upload {key} to {self.url}: {_message(e)}") from None
            except BotoCoreError as e:
                raise StoreError(f"cannot upload {key} to {self.url}: {_message(e)}") from None
            there = self._sha(key)
        if there != sha256:
            raise StoreError(f"{key} is already in {self.url} with other content; not overwritten")

    def _upload(self, key: str, path: Path, sha256: str) -> None:
        full, meta = self.prefix + key, {"sha256": sha256}
        if path.stat().st_size <= PART:
            with open(path, "rb") as body:
                self.client.put_object(
                    Bucket=self.bucket, Key=full, Body=body, Metadata=meta, IfNoneMatch="*"
                )
            return
        self._abort_stale(full)
        upload = self.client.create_multipart_upload(Bucket=self.bucket, Key=full, Metadata=meta)
        uid = upload["UploadId"]
        parts: list[dict[str, Any]] = []
        try:
            with open(path, "rb") as src:
                while chunk := src.read(PART):
                    number = len(parts) + 1
                    done = self.client.upload_part(
                        Bucket=self.bucket, Key=full, UploadId=uid, PartNumber=number, Body=chunk
                    )
                    parts.append({"ETag": done["ETag"], "PartNumber": number})
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=full,
                UploadId=uid,
                MultipartUpload={"Parts": parts},
                IfNoneMatch="*",
            )
        except BaseException:
            with contextlib.suppress(ClientError, BotoCoreError):
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=full, UploadId=uid)
            raise

    def _abort_stale(self, full: str) -> None:
        """Parts left by an uploader that was killed mid-upload: they cost money and never
        become the object; drop them before starting again."""
        found = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=full)
        for upload in found.get("Uploads", []):
            if upload["Key"] == full:
                self.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=full, UploadId=upload["UploadId"]
                )

    def get(self, key: str, dest: Path, size: int = 0) -> None:
        """Small objects in one GET; large ones through boto3's transfer manager, which reads
        parts in parallel ranged GETs (it costs a HEAD first, so not for small ones)."""
        try:
            if size > PART:
                config = TransferConfig(multipart_threshold=PART, multipart_chunksize=PART)
                self.client.download_file(self.bucket, self.prefix + key, str(dest), Config=config)
                return
            answer = self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)
            with open(dest, "wb") as out:
                for chunk in answer["Body"].iter_chunks(1 << 20):
                    out.write(chunk)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise Missing(f"{key} is missing from {self.url}") from None
            raise StoreError(f"cannot download {key} from {self.url}: {_message(e)}") from None
        except BotoCoreError as e:
            raise StoreError(f"cannot download {key} from {self.url}: {_message(e)}") from None

    def local(self, key: str) -> Path | None:
        return None

    def keys(self, prefix: str) -> dict[str, int]:
        found = {}
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix + prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    found[item["Key"][len(self.prefix) :]] = int(item["Size"])
        except (ClientError, BotoCoreError) as e:
            raise StoreError(f"cannot list {self.url}: {_message(e)}") from None
        return found
