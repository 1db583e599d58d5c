"""S3: releases and reports in the artifacts bucket."""

from __future__ import annotations

from pathlib import Path

from botocore.exceptions import ClientError

from hivemind.adapters.aws import client, error_code


class S3ObjectStore:
    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    def put_file(self, key: str, path: Path, *, sha256: str | None = None) -> None:
        extra = {"ServerSideEncryption": "AES256"}
        if sha256:
            extra["Metadata"] = {"sha256": sha256}  # type: ignore[assignment]
        client("s3").upload_file(str(path), self.bucket, key, ExtraArgs=extra)

    def put_text(self, key: str, text: str, content_type: str = "application/json") -> None:
        client("s3").put_object(
            Bucket=self.bucket, Key=key, Body=text.encode(), ContentType=content_type, ServerSideEncryption="AES256"
        )

    def exists(self, key: str) -> bool:
        try:
            client("s3").head_object(Bucket=self.bucket, Key=key)
            return True
        except ClientError as exc:
            if error_code(exc) in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def delete_prefix(self, prefix: str) -> int:
        s3 = client("s3")
        n = 0
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                s3.delete_objects(Bucket=self.bucket, Delete={"Objects": keys})
                n += len(keys)
        return n
