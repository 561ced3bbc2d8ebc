"""A PDF larger than a Lambda response can carry (6 MB) downloads through its presigned redirect;
asked for as bytes it is refused with a problem that names the redirect; never a 5xx.

No report the render budget allows (5,000 rows, 1,000,000 characters) comes near 6 MB: ReportLab
subsets its fonts and compresses its pages. So the test renders a small snapshot, then writes its
PDF anew, as a real 7 MB PDF (a page of incompressible image data), with its record's size, in the
stack's own bucket and table."""

import io
import os

import pytest
import requests
from pypdf import PdfReader
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

LAMBDA_RESPONSE_BYTES = 6 * 1024 * 1024


def pdf_of_at_least(size: int) -> bytes:
    """A valid PDF of one page holding an image of random pixels (deflate cannot shrink them)."""
    from PIL import Image

    width = 1600
    height = size // (width * 3) + 1
    image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(width, height))
    canvas.drawImage(ImageReader(image), 0, 0, width, height)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


@pytest.fixture(scope="module")
def large(stack, as_user):
    """A completed snapshot whose stored PDF is over 6 MB."""
    owner = as_user("owner.fujairah.large@x.io")
    room_id = owner.create_room("STS Fujairah — a very large report")["id"]
    snapshot = owner.create_snapshot(room_id, "Fujairah anchorage — Φουτζάιρα, every document")
    task = owner.wait_for_task(snapshot["task_id"])
    assert task["status"] == "completed", task
    dynamodb, table = stack.client("dynamodb"), stack.resources["DataTable"]
    key = {"PK": {"S": f"SNAP#{snapshot['id']}"}, "SK": {"S": "SNAP"}}
    content_hash = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]["content_hash"]["S"]
    pdf = pdf_of_at_least(7 * 1024 * 1024)
    stack.client("s3").put_object(Bucket=stack.resources["PdfBucket"], Key=f"pdf/{content_hash}.pdf", Body=pdf)
    dynamodb.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET file_size = :size",
        ExpressionAttributeValues={":size": {"N": str(len(pdf))}},
    )
    return owner, room_id, snapshot, pdf


def test_the_large_pdf_is_a_real_pdf_over_lambdas_response_limit(large):
    _, _, _, pdf = large
    assert len(pdf) > LAMBDA_RESPONSE_BYTES
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1


def test_a_pdf_too_large_for_a_response_downloads_through_its_presigned_redirect(large):
    owner, room_id, snapshot, pdf = large
    path = f"/rooms/{room_id}/snapshots/{snapshot['id']}/download"
    for params in ({}, {"redirect": "true"}):
        redirect = owner.request("GET", path, params=params, allow_redirects=False)
        assert redirect.status_code == 307, (params, redirect.status_code, redirect.text[:300])
        downloaded = requests.get(redirect.headers["Location"], timeout=60)
        assert downloaded.status_code == 200
        assert downloaded.content == pdf
        assert len(PdfReader(io.BytesIO(downloaded.content)).pages) == 1
    shown = owner.ok("GET", f"/rooms/{room_id}/snapshots/{snapshot['id']}")
    assert shown["file_size"] == len(pdf)


def test_its_bytes_asked_for_inline_are_refused_with_a_problem_that_names_the_redirect(large):
    owner, room_id, snapshot, pdf = large
    refused = owner.request(
        "GET", f"/rooms/{room_id}/snapshots/{snapshot['id']}/download", params={"redirect": "false"}
    )
    assert refused.status_code == 422, refused.text[:300]
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert "?redirect=true" in problem["detail"]
    assert f"{len(pdf) / 1_000_000:.1f} MB" in problem["detail"]
    assert "Exception" not in problem["detail"]
