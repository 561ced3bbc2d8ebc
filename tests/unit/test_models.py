import re

import pytest
from pydantic import ValidationError

from roomsnap.ids import new_id
from roomsnap.models import ID_PATTERN, RoomIn, Snapshot, SnapshotIn, TaskStatus, VesselIn


def test_imo_numbers_are_checked_by_their_check_digit():
    # Given a real IMO number and the same number with a wrong last digit
    valid = VesselIn(name="Seawise", imo="IMO 9074729", vessel_type="tanker", flag="MT")
    # Then the valid one is normalised to its seven digits and the other is refused
    assert valid.imo == "9074729"
    with pytest.raises(ValidationError, match="check digit"):
        VesselIn(name="Seawise", imo="9074728", vessel_type="tanker", flag="MT")


def test_unknown_fields_and_wrong_types_are_rejected():
    with pytest.raises(ValidationError):
        SnapshotIn(title="t", colour="red")
    with pytest.raises(ValidationError):
        SnapshotIn(title="t", snapshot_type="docx")
    with pytest.raises(ValidationError):
        RoomIn(title="   ", location="x", operation_time="2026-01-01T00:00:00Z")


def test_snapshot_flags_default_to_true():
    data = SnapshotIn(title="Status")
    assert data.include_documents
    assert data.include_activity
    assert data.include_approvals


@pytest.mark.parametrize(
    ("task_status", "legacy_status"),
    [
        ("pending", "generating"),
        ("running", "generating"),
        ("completed", "completed"),
        ("failed", "failed"),
        ("cancelled", "cancelled"),
    ],
)
def test_legacy_status_is_generating_until_the_task_is_terminal(task_status, legacy_status):
    snapshot = Snapshot(
        id=new_id(),
        room_id=new_id(),
        title="t",
        created_by="a@b.co",
        created_at="x",
        task_status=TaskStatus(task_status),
    )
    assert snapshot.status == legacy_status
    assert snapshot.task_id == f"snapshot-{snapshot.id}"


def test_ids_match_their_pattern_and_sort_by_creation_time():
    ids = [new_id() for _ in range(200)]
    assert all(re.fullmatch(ID_PATTERN, value) for value in ids)
    assert len(set(ids)) == 200
    # ids minted in later milliseconds sort later
    assert ids[0][:10] <= ids[-1][:10]


def test_an_id_made_for_a_moment_sorts_with_that_moment():
    from datetime import UTC, datetime, timedelta

    moment = datetime(2026, 12, 1, 19, 26, 0, 123000, tzinfo=UTC)
    ids = [new_id(moment + timedelta(milliseconds=n)) for n in (2, 0, 1)]
    assert sorted(ids) == [ids[1], ids[2], ids[0]]


# ---------------------------------------------------------------- what text may hold


REAL_WORLD = [
    "ناقلة الخليج",  # Arabic
    "שמן ים המלח 2026",  # Hebrew with digits
    "Ελληνική Ναυτιλία",
    "中远海运油运",
    "現代商船",
    "해운 부산",
    "Деловые Линии",
    "Türk Denizcilik Ş.",
    "Nordsjø Rederi",
    "भारतीय नौवहन",
    "ok 👍🏽 👩‍🚀",  # a skin tone and a ZWJ sequence
    "Cafe\u0301",  # a combining mark
]


@pytest.mark.parametrize("text", REAL_WORLD)
def test_free_text_holds_any_script_and_emoji(text):
    from roomsnap.models import ApprovalIn, PartyIn

    assert PartyIn(email="ops@sohar.om", company=text, role="broker").company == text
    assert ApprovalIn(comment=f"{text}\n\tline two").comment == f"{text}\n\tline two"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("bell\x07", "U+0007 (a control character)"),
        ("carriage\rreturn", "U+000D (a control character)"),
        ("c1\x85", "U+0085 (a control character)"),
        ("half\ud83d", "U+D83D (a lone surrogate)"),
        ("\ufdd0", "U+FDD0 (a noncharacter)"),
        ("end\U0010ffff", "U+10FFFF (a noncharacter)"),
    ],
)
def test_control_characters_surrogates_and_noncharacters_are_refused_naming_the_field(text, named):
    from roomsnap.models import ApprovalIn, VesselIn

    with pytest.raises(ValidationError) as refused:
        VesselIn(name=text, imo="9074729", vessel_type="tanker", flag="MT")
    ((error,),) = [refused.value.errors()]
    assert error["loc"] == ("name",)
    assert error["msg"].startswith(f"holds {named}")
    with pytest.raises(ValidationError, match="comment"):
        ApprovalIn(comment=text)


def test_newline_and_tab_are_for_comments_only():
    from roomsnap.models import ApprovalIn, VesselIn

    assert ApprovalIn(comment="a\nb\tc").comment == "a\nb\tc"
    with pytest.raises(ValidationError, match="U\\+000A"):
        VesselIn(name="MT\nSeawise", imo="9074729", vessel_type="tanker", flag="MT")


def test_the_pattern_the_description_states_is_the_rule_the_server_applies():
    from roomsnap.models import PartyIn, RoomIn

    pattern = re.compile(RoomIn.model_json_schema()["properties"]["title"]["pattern"])
    for text in [*REAL_WORLD, "x\x07", "a\ud800", "\ufffe", "   ", "\U0001fffe"]:
        accepted = True
        try:
            RoomIn(title=text, location="Fujairah", operation_time="2026-12-01T06:00:00Z")
        except ValidationError:
            accepted = False
        assert bool(pattern.match(text)) is accepted, repr(text)
    assert PartyIn.model_json_schema()["properties"]["email"]["pattern"].startswith("^[^@\\s")


@pytest.mark.parametrize("value", [0, 1733300000, "1733300000", "2026-12-01", "2026-12-01T06:00", "12/01/2026 06:00"])
def test_times_are_iso_8601_strings_with_an_offset_never_numbers(value):
    with pytest.raises(ValidationError, match="ISO 8601"):
        RoomIn(title="t", location="Sohar", operation_time=value)


def test_days_are_iso_8601_dates_never_numbers():
    from roomsnap.models import DocumentIn, DocumentPatch

    assert DocumentIn(name="Q88", document_type="q", expires_on="2027-01-15").expires_on.isoformat() == "2027-01-15"
    for value in (0, "0", "20270115", "2027-01-15T00:00:00Z"):
        with pytest.raises(ValidationError, match="ISO 8601"):
            DocumentPatch(expires_on=value)


def test_a_correction_needs_a_field_and_refuses_null_where_nothing_may_be_cleared():
    from roomsnap.models import DocumentPatch, PartyPatch, VesselPatch

    with pytest.raises(ValidationError, match="give at least one of role, company"):
        PartyPatch()
    with pytest.raises(ValidationError):
        VesselPatch(name=None)
    assert DocumentPatch(vessel_imo=None).changes() == {"vessel_imo": None}
    assert PartyPatch.model_json_schema()["minProperties"] == 1
    with pytest.raises(ValidationError, match="check digit"):
        VesselPatch(imo="9074728")
