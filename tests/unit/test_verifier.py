"""The verifier's verdicts against in-memory issuance records and rooms, with the signatures a file
carries given as pyHanko would report them: issued bytes, a file changed after signing, anything
else not issued; the room's title only for those who may read the room."""

import hashlib

import pytest

from roomsnap.dal.issuance import Issuance
from roomsnap.models import Role

from tests.unit.builders import ADMIN, OWNER, STRANGER, member
from tests.unit.fakes import Repositories
from verify.logic.verifier import FoundSignature, Verifier

PDF = b"%PDF-1.7 a signed snapshot of STS Sohar \xe2\x80\x94 \xed\x95\x9c\xea\xb5\xad"


def issue(
    repos: Repositories,
    room_id: str,
    pdf: bytes = PDF,
    snapshot_id: str = "01SNAPSHOT",
    at: str = "2026-12-01T06:00:00+00:00",
) -> None:
    repos.issuances.record(
        Issuance(
            pdf_sha256=hashlib.sha256(pdf).hexdigest(),
            snapshot_id=snapshot_id,
            room_id=room_id,
            content_hash="c" * 64,
            file_size=len(pdf),
            issued_at=at,
        )
    )


def signature(signed_length: int, intact: bool = True) -> FoundSignature:
    return FoundSignature(signed_length, intact, "2026-12-01T06:00:01+00:00", "CN=Room Snapshots", False)


def verifier(repos: Repositories, signatures: list[FoundSignature] | None = None) -> Verifier:
    return Verifier(repos.issuances, repos.rooms, lambda pdf: signatures or [])


def test_issued_bytes_verify_by_file_and_by_sha256(repos, room_id):
    issue(repos, room_id)
    by_file = verifier(repos, [signature(len(PDF))]).by_pdf(PDF, None)
    by_hash = verifier(repos).by_sha256(hashlib.sha256(PDF).hexdigest().upper(), None)
    for answer in (by_file, by_hash):
        assert (answer.verdict, answer.issued, answer.snapshot_id) == ("issued", True, "01SNAPSHOT")
        assert answer.issued_at == "2026-12-01T06:00:00+00:00"
    assert by_file.signature.intact
    assert not by_file.signature.changes_after_signing
    assert by_hash.signature is None


def test_every_snapshot_issued_the_same_bytes_is_listed_first_issuance_first(repos, room_id):
    issue(repos, room_id, snapshot_id="01AAAA", at="2026-12-01T06:00:00+00:00")
    issue(repos, room_id, snapshot_id="01BBBB", at="2026-12-02T06:00:00+00:00")
    answer = verifier(repos).by_sha256(hashlib.sha256(PDF).hexdigest(), None)
    assert [issuance.snapshot_id for issuance in answer.issuances] == ["01AAAA", "01BBBB"]
    assert answer.snapshot_id == "01AAAA"


def test_changes_appended_after_the_signature_are_told_apart_from_an_issue(repos, room_id):
    issue(repos, room_id)
    changed = PDF + b"\n% an incremental update\n"
    answer = verifier(repos, [signature(len(PDF))]).by_pdf(changed, None)
    assert (answer.verdict, answer.issued) == ("changed_after_signing", False)
    assert answer.signed_revision_sha256 == hashlib.sha256(PDF).hexdigest()
    assert answer.signature.changes_after_signing
    assert f"{len(changed) - len(PDF)} bytes" in answer.message


def test_a_broken_signature_over_an_issued_prefix_is_not_issued(repos, room_id):
    issue(repos, room_id)
    answer = verifier(repos, [signature(len(PDF), intact=False)]).by_pdf(PDF + b"% more", None)
    assert answer.verdict == "not_issued"


@pytest.mark.parametrize("pdf", [PDF[:-1] + b"!", PDF + b" "])
def test_any_other_bytes_are_not_issued(repos, room_id, pdf):
    issue(repos, room_id)
    answer = verifier(repos, [signature(len(pdf))]).by_pdf(pdf, None)
    assert (answer.verdict, answer.issued, answer.snapshot_id) == ("not_issued", False, None)
    assert answer.issuances == []


@pytest.mark.parametrize(
    ("caller", "sees_title"),
    [(None, False), (STRANGER, False), (OWNER, True), (member(Role.VIEWER), True), (ADMIN, True)],
)
def test_the_room_is_named_only_to_whoever_may_read_it(repos, room_id, caller, sees_title):
    issue(repos, room_id)
    (issuance,) = verifier(repos).by_sha256(hashlib.sha256(PDF).hexdigest(), caller).issuances
    assert issuance.room_title == ("STS Malta" if sees_title else None)
    assert issuance.room_id == (room_id if sees_title else None)
