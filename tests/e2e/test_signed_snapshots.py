"""Signed snapshots end to end, over real HTTP on the local stack: a downloaded PDF validates with
pyHanko and with poppler's pdfsig (trusting the development CA), a tampered copy validates with
neither, and POST /api/v1/verify tells them apart — for anyone, naming the room only to its parties.

Each test sends its anonymous requests from a loopback address of its own (127.0.0.x), as distinct
clients would, since anonymous verifications are counted per source address."""

import hashlib
import json
from io import BytesIO

import pytest
import requests
from pyhanko.pdf_utils.generic import TextStringObject
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pypdf import PdfReader, PdfWriter
from requests.adapters import HTTPAdapter

from tests.signatures import Pdfsig, flipped, offsets_in_signed_ranges, pyhanko_accepts, pyhanko_status
from tests.support import API

MAX_PDF_BYTES = 4 * 1024 * 1024


class FromAddress(HTTPAdapter):
    """Connections from one loopback source address."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def client_at(address: str, token: str | None = None) -> requests.Session:
    session = requests.Session()
    session.mount("http://", FromAddress(address))
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    return session


def verify(stack, session: requests.Session, **kwargs) -> requests.Response:
    return session.post(f"{stack.base_url}{API}/verify", timeout=60, **kwargs)


def verify_pdf(stack, session: requests.Session, pdf: bytes) -> requests.Response:
    return verify(stack, session, data=pdf, headers={"Content-Type": "application/pdf"})


@pytest.fixture(scope="module")
def pdfsig():
    checker = Pdfsig()
    yield checker
    checker.close()


@pytest.fixture(scope="module")
def issued(stack, as_user):
    """A snapshot of a room with real-world names, completed, and its PDF as downloaded."""
    owner = as_user("owner.signed@x.io")
    room = owner.create_room("STS Kalamata — Καλαμάτα", "Messinian Gulf, off Kalamata")
    owner.add(room["id"], "parties", {"email": "broker.signed@x.io", "company": "Ελληνική Ναυτιλία", "role": "broker"})
    owner.add(room["id"], "parties", {"email": "viewer.signed@x.io", "company": "한국해운", "role": "viewer"})
    snapshot = owner.create_snapshot(room["id"], "Before transfer 舟山")
    assert owner.wait_for_task(snapshot["task_id"])["status"] == "completed"
    download = owner.request("GET", f"/rooms/{room['id']}/snapshots/{snapshot['id']}/download")
    assert download.status_code == 200
    detail = owner.ok("GET", f"/rooms/{room['id']}/snapshots/{snapshot['id']}")
    return {"room": room, "snapshot": detail, "pdf": download.content}


def test_a_downloaded_snapshot_validates_with_pyhanko_and_pdfsig(issued, pdfsig):
    pdf = issued["pdf"]
    assert issued["snapshot"]["pdf_sha256"] == hashlib.sha256(pdf).hexdigest()
    assert issued["snapshot"]["file_size"] == len(pdf)
    status = pyhanko_status(pdf)
    assert status.bottom_line, status.pretty_print_details()
    assert status.coverage.name == "ENTIRE_FILE"
    assert status.signer_reported_dt is not None  # the signing time is in the signature
    report = pdfsig.check(pdf)
    assert report.accepts, report.text
    # The signing time and signer are not printed on the page
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)
    assert "PDF signing (development)" not in text


def test_a_tampered_copy_validates_with_neither(issued, pdfsig):
    pdf = issued["pdf"]
    for offset in offsets_in_signed_ranges(pdfsig.check(pdf).signed_ranges, pdf):
        tampered = flipped(pdf, offset)
        assert not pyhanko_accepts(tampered), offset
        assert not pdfsig.check(tampered).signature_valid, offset


def test_verify_tells_the_issued_file_from_a_tampered_one(stack, issued, pdfsig):
    anyone = client_at("127.0.0.21")
    genuine = verify_pdf(stack, anyone, issued["pdf"])
    assert genuine.status_code == 200, genuine.text
    answer = genuine.json()
    assert (answer["verdict"], answer["issued"]) == ("issued", True)
    assert answer["snapshot_id"] == issued["snapshot"]["id"]
    assert answer["sha256"] == issued["snapshot"]["pdf_sha256"]
    assert answer["issued_at"]
    assert answer["issuances"][0]["snapshot_id"] == issued["snapshot"]["id"]
    assert answer["signature"]["intact"]
    assert not answer["signature"]["changes_after_signing"]
    # Without a token, nothing of the room is told
    assert answer["issuances"][0]["room_title"] is None
    assert answer["issuances"][0]["room_id"] is None
    pdf = issued["pdf"]
    for offset in offsets_in_signed_ranges(pdfsig.check(pdf).signed_ranges, pdf):
        tampered = verify_pdf(stack, client_at("127.0.0.22"), flipped(pdf, offset))
        assert tampered.status_code == 200, tampered.text
        assert (tampered.json()["verdict"], tampered.json()["issued"]) == ("not_issued", False), offset


def test_a_file_changed_after_signing_is_told_so_and_a_resaved_one_is_not_issued(stack, issued):
    anyone = client_at("127.0.0.23")
    # An incremental update after the signature (the title changed, as an editor saving in place does)
    writer = IncrementalPdfFileWriter(BytesIO(issued["pdf"]), strict=False)
    writer.root["/Lang"] = TextStringObject("el")
    writer.update_root()
    changed = BytesIO()
    writer.write(changed)
    answer = verify_pdf(stack, anyone, changed.getvalue()).json()
    assert answer["verdict"] == "changed_after_signing"
    assert answer["issued"] is False
    assert answer["signed_revision_sha256"] == issued["snapshot"]["pdf_sha256"]
    assert answer["snapshot_id"] == issued["snapshot"]["id"]
    assert answer["signature"]["intact"]
    assert answer["signature"]["changes_after_signing"]
    assert "changed after signing" in answer["message"]
    # Re-saved whole by another program: nothing of the signed bytes survives
    resaved = PdfWriter(clone_from=PdfReader(BytesIO(issued["pdf"])))
    resaved.add_metadata({"/Producer": "another editor"})
    out = BytesIO()
    resaved.write(out)
    assert verify_pdf(stack, anyone, out.getvalue()).json()["verdict"] == "not_issued"


def test_verify_by_sha256_names_the_room_to_its_parties_only(stack, issued):
    body = {"sha256": issued["snapshot"]["pdf_sha256"].upper()}
    tokens = {email: stack.mint_token(email) for email in ("viewer.signed@x.io", "stranger.signed@x.io")}
    anonymous = verify(stack, client_at("127.0.0.24"), json=body).json()
    party = verify(stack, client_at("127.0.0.24", tokens["viewer.signed@x.io"]), json=body).json()
    stranger = verify(stack, client_at("127.0.0.24", tokens["stranger.signed@x.io"]), json=body).json()
    for answer in (anonymous, party, stranger):
        assert (answer["verdict"], answer["snapshot_id"]) == ("issued", issued["snapshot"]["id"])
        assert answer["signature"] is None  # only the hash was sent
    assert party["issuances"][0]["room_title"] == "STS Kalamata — Καλαμάτα"
    assert party["issuances"][0]["room_id"] == issued["room"]["id"]
    assert anonymous["issuances"][0]["room_title"] is None
    assert stranger["issuances"][0]["room_title"] is None
    unknown = verify(stack, client_at("127.0.0.24"), json={"sha256": "ab" * 32}).json()
    assert (unknown["verdict"], unknown["issued"]) == ("not_issued", False)


def test_verify_refuses_what_it_cannot_check_with_a_problem(stack, issued):
    session = client_at("127.0.0.25")

    def problem(response: requests.Response, status: int) -> dict:
        assert response.status_code == status, response.text
        assert response.headers["Content-Type"] == "application/problem+json"
        body = response.json()
        assert body["status"] == status
        assert body["request_id"]
        assert "Traceback" not in body["detail"]
        return body

    problem(
        verify(stack, session, data=b"%PDF-" + b"x" * MAX_PDF_BYTES, headers={"Content-Type": "application/pdf"}), 413
    )
    problem(verify(stack, session, data=b"GIF89a not a pdf", headers={"Content-Type": "application/pdf"}), 400)
    problem(verify(stack, session, json={"sha256": "not-hex"}), 422)
    problem(
        verify(
            stack, session, data=json.dumps({"sha256": "ab" * 32, "x": 1}), headers={"Content-Type": "application/json"}
        ),
        422,
    )
    problem(verify(stack, session, data=b"sha256=abc", headers={"Content-Type": "text/plain"}), 415)
    forged = client_at("127.0.0.25", "not.a.token")
    assert "token" in problem(verify(stack, forged, json={"sha256": "ab" * 32}), 401)["detail"]
    unverified = client_at("127.0.0.25", stack.mint_token("unverified.signed@x.io", email_verified=False))
    problem(verify(stack, unverified, json={"sha256": "ab" * 32}), 403)


def test_verify_is_rate_limited_per_caller(stack):
    """Within at most two of the caller's one-minute windows the limit is met (the window may roll
    over once while the test runs); another caller is not affected."""
    limited = client_at("127.0.0.26", stack.mint_token("busy.signed@x.io"))
    body = {"sha256": "cd" * 32}
    for _ in range(2 * 30 + 1):
        answer = verify(stack, limited, json=body)
        if answer.status_code == 429:
            break
        assert answer.status_code == 200, answer.text
    assert answer.status_code == 429, "the limit was never met"
    assert 1 <= int(answer.headers["Retry-After"]) <= 60
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert verify(stack, client_at("127.0.0.27"), json=body).status_code == 200
