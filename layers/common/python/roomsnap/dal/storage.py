"""The PDF cache's second layer: S3 objects keyed by content hash, written at most once.

An object holds the signed PDF first stored for its content; S3 keeps the SHA-256 of its bytes
(sent with the upload, so S3 also checks what it received), which tells a renderer whether the
copy it holds in memory is still the one stored."""

import base64
from collections.abc import Iterator
from datetime import datetime

from botocore.exceptions import ClientError

from roomsnap.dal.clients import client


def pdf_key(content_hash: str) -> str:
    return f"pdf/{content_hash}.pdf"


class PdfStore:
    def __init__(self, bucket: str):
        self.bucket = bucket

    @property
    def s3(self):
        return client("s3")

    def get(self, content_hash: str) -> bytes | None:
        try:
            return self.s3.get_object(Bucket=self.bucket, Key=pdf_key(content_hash))["Body"].read()
        except ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise

    def stored_sha256(self, content_hash: str) -> str | None:
        """The hex SHA-256 of the stored PDF's bytes, or None when there is no such object."""
        try:
            head = self.s3.head_object(Bucket=self.bucket, Key=pdf_key(content_hash), ChecksumMode="ENABLED")
        except ClientError as error:
            if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return base64.b64decode(head["ChecksumSHA256"]).hex()

    def put_if_absent(self, content_hash: str, pdf: bytes) -> bool:
        """Stores the PDF unless an object with this hash exists; returns False then. Each render is
        signed anew, so a concurrent writer that got there first stored other bytes of the same
        content: the caller adopts those (get) rather than serving its own."""
        try:
            self.s3.put_object(
                Bucket=self.bucket,
                Key=pdf_key(content_hash),
                Body=pdf,
                ContentType="application/pdf",
                IfNoneMatch="*",
                ChecksumAlgorithm="SHA256",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] in ("PreconditionFailed", "ConditionalRequestConflict"):
                return False
            raise
        return True

    def hashes_older_than(self, cutoff: datetime) -> Iterator[str]:
        """Content hashes of the cached PDFs last written before `cutoff`."""
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix="pdf/"):
            for obj in page.get("Contents", []):
                if obj["LastModified"] < cutoff and obj["Key"].endswith(".pdf"):
                    yield obj["Key"].removeprefix("pdf/").removesuffix(".pdf")

    def delete(self, content_hash: str) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=pdf_key(content_hash))

    def presigned_url(self, content_hash: str, filename: str, ttl_seconds: int) -> str:
        return self.s3.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": pdf_key(content_hash),
                "ResponseContentType": "application/pdf",
                "ResponseContentDisposition": f'attachment; filename="{filename}"',
            },
            ExpiresIn=ttl_seconds,
        )
