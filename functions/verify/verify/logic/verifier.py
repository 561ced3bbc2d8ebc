"""Whether this deployment issued exactly these bytes: the issuance records decide, never the file.

A PDF the service issued verifies by its SHA-256 alone. A file that is not byte for byte an issued
one is "not issued by this service", with one distinction worth telling the holder: when a signature
in it still covers an issued file exactly (its signed revision's SHA-256 is on record, and the
signature is intact), the file is an issued one with changes appended after the signature.

Who asks changes one thing only: the room's title (and id) is shown to a party of the room (or an
admin), by the API's own rules (roomsnap.access)."""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from roomsnap.access import Caller, RoomAccess
from roomsnap.dal import RoomRepository
from roomsnap.dal.issuance import Issuance, IssuanceRecords
from roomsnap.errors import Forbidden, NotFound
from roomsnap.permissions import Action
from roomsnap.verification import IssuanceView, SignatureView, Verification


@dataclass(frozen=True)
class FoundSignature:
    """A signature in an uploaded file: where its signed revision ends, and what pyHanko found."""

    signed_length: int  # the end of its /ByteRange: the signed revision is pdf[:signed_length]
    intact: bool
    signed_at: str | None
    signer: str | None
    timestamped: bool

    def view(self, file_length: int) -> SignatureView:
        return SignatureView(
            intact=self.intact,
            signed_at=self.signed_at,
            signer=self.signer,
            timestamped=self.timestamped,
            changes_after_signing=self.signed_length < file_length,
        )


class Verifier:
    def __init__(
        self,
        issuances: IssuanceRecords,
        rooms: RoomRepository,
        read_signatures: Callable[[bytes], list[FoundSignature]],
    ):
        self.issuances = issuances
        self.rooms = rooms
        self.access = RoomAccess(rooms)
        self.read_signatures = read_signatures

    def by_sha256(self, sha256: str, caller: Caller | None) -> Verification:
        sha256 = sha256.lower()
        issued = self.issuances.of(sha256)
        if issued:
            return self._issued(sha256, issued, caller, None)
        return _not_issued(sha256, None)

    def by_pdf(self, pdf: bytes, caller: Caller | None) -> Verification:
        sha256 = hashlib.sha256(pdf).hexdigest()
        issued = self.issuances.of(sha256)
        signatures = self.read_signatures(pdf)
        covering = next((s for s in signatures if s.signed_length == len(pdf)), None)
        if issued:
            return self._issued(sha256, issued, caller, covering.view(len(pdf)) if covering else None)
        for signature in sorted(signatures, key=lambda s: -s.signed_length):
            if signature.signed_length >= len(pdf) or not signature.intact:
                continue
            revision = hashlib.sha256(pdf[: signature.signed_length]).hexdigest()
            if original := self.issuances.of(revision):
                return self._changed(sha256, revision, original, caller, signature.view(len(pdf)), len(pdf))
        found = covering or (signatures[-1] if signatures else None)
        return _not_issued(sha256, found.view(len(pdf)) if found else None)

    def _issued(
        self, sha256: str, issued: list[Issuance], caller: Caller | None, signature: SignatureView | None
    ) -> Verification:
        first = issued[0]
        return Verification(
            verdict="issued",
            issued=True,
            sha256=sha256,
            message=f"Issued by this service: exactly these bytes were issued on {readable(first.issued_at)} "
            f"for snapshot {first.snapshot_id}.",
            issued_at=first.issued_at,
            snapshot_id=first.snapshot_id,
            issuances=self._views(issued, caller),
            signature=signature,
        )

    def _changed(
        self,
        sha256: str,
        revision: str,
        original: list[Issuance],
        caller: Caller | None,
        signature: SignatureView,
        file_length: int,
    ) -> Verification:
        first = original[0]
        added = file_length - first.file_size
        return Verification(
            verdict="changed_after_signing",
            issued=False,
            sha256=sha256,
            message=f"Not issued by this service as it is: the file was changed after signing. Its signed "
            f"part was issued on {readable(first.issued_at)} for snapshot {first.snapshot_id}, and {added} bytes of "
            "changes follow the signature.",
            issued_at=first.issued_at,
            snapshot_id=first.snapshot_id,
            issuances=self._views(original, caller),
            signed_revision_sha256=revision,
            signature=signature,
        )

    def _views(self, issued: list[Issuance], caller: Caller | None) -> list[IssuanceView]:
        titles: dict[str, str | None] = {}
        for room_id in {issuance.room_id for issuance in issued} if caller else ():
            titles[room_id] = self._title_for(caller, room_id)
        return [
            IssuanceView(
                snapshot_id=issuance.snapshot_id,
                issued_at=issuance.issued_at,
                room_id=issuance.room_id if titles.get(issuance.room_id) is not None else None,
                room_title=titles.get(issuance.room_id),
            )
            for issuance in issued
        ]

    def _title_for(self, caller: Caller | None, room_id: str) -> str | None:
        """The room's title if the caller may read the room, else None (nothing is said of why)."""
        if caller is None:
            return None
        try:
            self.access.authorize(caller, room_id, Action.READ)
        except (NotFound, Forbidden):
            return None
        room = self.rooms.get_room(room_id)
        return room.title if room else None


def readable(iso: str) -> str:
    """ "4 Dec 2026, 19:40:24 UTC": the message is for people; the fields keep ISO 8601."""
    at = datetime.fromisoformat(iso)
    return f"{at.day} {at:%b %Y, %H:%M:%S} UTC"


def _not_issued(sha256: str, signature: SignatureView | None) -> Verification:
    return Verification(
        verdict="not_issued",
        issued=False,
        sha256=sha256,
        message="Not issued by this service: it issued no file with exactly these bytes.",
        signature=signature,
    )
