"""Every PDF the renderer stores is signed (PAdES, the key in moto's KMS, certified by the
development CA), and tools nobody here wrote agree: pyHanko's validator and poppler's pdfsig accept
it, and refuse it once any byte of the signed ranges is changed."""

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from roomsnap.dal.signing_key import certificate_chain
from roomsnap.errors import SigningUnavailable

from renderer.logic.signing import PdfSealer, SignerSettings
from scripts.signing_ca import DevelopmentCa
from tests.integration.builders import make_renderer, new_room, new_snapshot, process
from tests.signatures import (
    LocalTimestampAuthority,
    Pdfsig,
    flipped,
    offsets_in_signed_ranges,
    pyhanko_accepts,
    pyhanko_status,
)


@pytest.fixture(scope="module")
def pdfsig():
    checker = Pdfsig()
    yield checker
    checker.close()


def render_and_fetch(parts, title: str = "Ρεβυθούσα STS — 舟山 — 여수", sign=None) -> bytes:
    room_id = new_room(parts, "STS Fujairah — Khor Fakkan")
    outcome = process(make_renderer(parts, sign=sign), new_snapshot(parts, room_id, title))
    pdf = parts["pdfs"].get(outcome.snapshot.content_hash)
    assert pdf is not None, outcome.snapshot.error
    assert outcome.snapshot.file_size == len(pdf)
    return pdf


def test_a_stored_pdf_is_signed_pades_and_both_validators_accept_it(parts, pdfsig):
    pdf = render_and_fetch(parts)
    status = pyhanko_status(pdf)
    assert status.bottom_line, status.pretty_print_details()
    assert (status.intact, status.valid, status.trusted) == (True, True, True)
    assert status.coverage.name == "ENTIRE_FILE"
    assert status.md_algorithm == "sha256"
    assert status.pkcs7_signature_mechanism.endswith("ecdsa")
    assert status.signing_cert.subject.native["common_name"].endswith("PDF signing (development)")
    report = pdfsig.check(pdf)
    assert report.accepts, report.text
    assert "Signature Type: ETSI.CAdES.detached" in report.text


def test_a_byte_changed_anywhere_in_the_signed_ranges_fails_both_validators(parts, pdfsig):
    pdf = render_and_fetch(parts, "Tamper check Sohar")
    ranges = pdfsig.check(pdf).signed_ranges
    for offset in offsets_in_signed_ranges(ranges, pdf):
        tampered = flipped(pdf, offset)
        assert not pyhanko_accepts(tampered), offset
        report = pdfsig.check(tampered)
        assert not report.signature_valid, (offset, report.text)


def test_a_certificate_of_another_key_is_refused_before_anything_is_signed(parts):
    other_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    other = DevelopmentCa.load_or_create().chain_for(
        other_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
        "Someone else's key",
    )
    with pytest.raises(SigningUnavailable, match="does not certify"):
        PdfSealer(parts["signing_key"], SignerSettings(other))


@pytest.fixture
def authority():
    tsa = LocalTimestampAuthority()
    yield tsa
    tsa.close()


def test_with_a_timestamp_authority_signatures_are_pades_b_t(parts, pdfsig, authority):
    # Given a sealer configured with an RFC 3161 authority (as TimestampAuthorityUrl does)
    chain = certificate_chain(parts["certificate_parameter"])
    sealer = PdfSealer(parts["signing_key"], SignerSettings(chain, timestamp_url=authority.url))
    assert sealer.level == "B-T"
    # When it signs a rendered snapshot
    signed = render_and_fetch(parts, "B-T check Malta", sign=sealer.sign)
    # Then the signature embeds the authority's token, which pyHanko validates against the
    # development CA, and both validators still accept the file
    assert authority.requests >= 1  # pyHanko asks twice: once to size the signature, once to sign
    status = pyhanko_status(signed)
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.intact
    assert status.timestamp_validity.valid
    assert status.timestamp_validity.trusted
    assert status.bottom_line, status.pretty_print_details()
    assert pdfsig.check(signed).signature_valid


def test_an_unreachable_timestamp_authority_issues_nothing(parts):
    # Given an authority nobody serves (a closed loopback port)
    chain = certificate_chain(parts["certificate_parameter"])
    sealer = PdfSealer(parts["signing_key"], SignerSettings(chain, timestamp_url="http://127.0.0.1:9/tsa"))
    # Then signing fails as a transient error with a plain reason, instead of signing without it
    room_id = new_room(parts, "STS Busan")
    with pytest.raises(SigningUnavailable, match="timestamp authority may be unreachable"):
        process(make_renderer(parts, sign=sealer.sign), new_snapshot(parts, room_id, "B-T unreachable"))
