"""The snapshot PDF: rendered for real and read back with pypdf."""

import colorsys
import hashlib
import io
import re
import subprocess
import sys
from datetime import date, timedelta

import pytest
from pypdf import PdfReader

from roomsnap.hashing import content_hash
from roomsnap.models import (
    ActivityLine,
    ApprovalLine,
    DocumentLine,
    PartyLine,
    ReportContent,
    ReportRoom,
    VesselLine,
)

from renderer.report import (
    FOOTER_SPACE,
    LIBRARY_VERSION,
    PAGE_MARGIN,
    TEMPLATE_VERSION,
    VERDICT_LINES,
    human_date,
    human_time,
    render_report,
)

ROOM_ID = "01m8gj9p3fzgz3gbmpmz9xbb6m"
CHECKED_ON = date(2025, 3, 1)  # three days before the operation
COMPANIES = [
    "Ελληνική Ναυτιλία",
    "Совкомфлот",
    "Işıklar Denizcilik Ağ Şti",
    "中远海运",
    "日本郵船",
    "현대상선",
    '<b>A&B "Ltd"</b>',
    '<i>中远 & "海运"</i>',
    "Maersk Tankers A/S",
]
VESSEL_NAMES = ["Aegean Star", "Академик Крылов", "Işık", "远洋之星", "Ocean Bridge"]


def room(**changes) -> ReportContent:
    """A room with some of everything, in several scripts; `changes` replace whole fields."""
    content = ReportContent(
        title="Pre-transfer inspection",
        room=ReportRoom(
            id=ROOM_ID,
            title='STS <b>Laconian</b> & "Gulf"',
            location="Laconian Gulf, Greece",
            operation_time="2025-03-04T06:00:00Z",
            data_as_of="2025-03-01T09:15:00.000Z",
        ),
        expiry_checked_on=CHECKED_ON,
        parties=[
            PartyLine(email=f"ops{i}@example.com", company=company, role=["owner", "broker", "inspector"][i % 3])
            for i, company in enumerate(COMPANIES)
        ],
        vessels=[
            VesselLine(name=name, imo=f"917618{i}", vessel_type="Aframax tanker", flag="Malta")
            for i, name in enumerate(VESSEL_NAMES)
        ],
        documents=[
            DocumentLine(id="d1", name="Ship Sanitation Certificate", document_type="Certificate", status="approved"),
            DocumentLine(
                id="d2", name="Q88 questionnaire", document_type="Q88", status="uploaded", vessel_imo="9176187"
            ),
        ],
        approvals=[
            ApprovalLine(id="a", status="approved", comment="Fenders checked.", by="i@example.com", at="2025-02-27")
        ],
        activity=[ActivityLine(at="2025-02-26T10:00:00Z", actor="ops0@example.com", action="party.added")],
    )
    return content.model_copy(update=changes)


def pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def text_of(pdf: bytes) -> str:
    return "\n".join(pages_text(pdf))


def text_lines(pdf: bytes) -> list[tuple[str, float]]:
    """Each piece of text drawn, with the height of its baseline above the bottom of the page."""
    lines = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        page.extract_text(visitor_text=lambda text, cm, tm, *_: lines.append((text.strip(), tm[5] * cm[3] + cm[5])))
    return [(text, y) for text, y in lines if text]


def body_lines(content: ReportContent, page: int = 0) -> list[str]:
    """A page's lines of text without the running header and footer (drawn last, on every page)."""
    lines = pages_text(render_report(content))[page].splitlines()
    return lines[:-3]


def test_same_content_gives_identical_bytes_here_and_in_a_fresh_process():
    # Given a room
    content = room()

    # When it is rendered twice here and once in a fresh interpreter (with its own hash seed)
    first, second = render_report(content), render_report(content)
    script = (
        "import hashlib, sys\n"
        f"sys.path[:0] = {sys.path!r}\n"  # this process's, which pytest's pythonpath set up
        "from renderer.report import render_report\n"
        "from roomsnap.models import ReportContent\n"
        "content = ReportContent.model_validate_json(sys.stdin.read())\n"
        "print(hashlib.sha256(render_report(content)).hexdigest())\n"
    )
    fresh = subprocess.run(
        [sys.executable, "-c", script], input=content.model_dump_json(), capture_output=True, text=True, check=True
    )

    # Then all three PDFs are the same bytes
    assert first == second
    assert fresh.stdout.strip() == hashlib.sha256(first).hexdigest()


def test_the_metadata_names_the_snapshot_the_service_and_the_moment_of_the_data():
    # When a room is rendered
    metadata = PdfReader(io.BytesIO(render_report(room()))).metadata

    # Then its title is the snapshot's, its author the service, and it is dated by the data it
    # shows (not by the clock, so the same content still gives the same bytes)
    assert metadata["/Title"] == "Pre-transfer inspection"
    assert metadata["/Subject"] == 'Room snapshot of STS <b>Laconian</b> & "Gulf"'
    assert metadata["/Author"] == metadata["/Creator"] == "Room Snapshots"
    assert metadata["/CreationDate"] == metadata["/ModDate"] == "D:20250301091500+00'00'"


def test_names_in_any_script_and_markup_characters_print_as_written():
    # When a room with Greek, Cyrillic, Turkish, Chinese, Japanese, Korean and markup-like names is rendered
    text = text_of(render_report(room()))

    # Then every name is in the PDF's text exactly as written
    for name in [*COMPANIES, *VESSEL_NAMES, "Ship Sanitation Certificate", "Q88 questionnaire"]:
        assert name in text


def test_below_the_verdict_the_snapshot_the_room_and_the_dates_it_speaks_for():
    # When a room is rendered
    lines = body_lines(room())

    # Then below the verdict its lines say what, where and when
    start = lines.index("Pre-transfer inspection")
    assert lines[start : start + 5] == [
        "Pre-transfer inspection",
        'STS <b>Laconian</b> & "Gulf"',
        "Location: Laconian Gulf, Greece",
        "Operation time: 4 Mar 2025, 06:00 UTC",
        "Data as of 1 Mar 2025, 09:15 UTC · Expiry checked on 1 Mar 2025",
    ]


def test_every_page_names_the_room_and_the_snapshot_and_says_which_page_of_how_many_it_is():
    # Given a room long enough for several pages
    activity = [
        ActivityLine(at="2025-02-01", actor="ops@example.com", action="note", detail=f"e{i}") for i in range(200)
    ]
    pages = pages_text(render_report(room(activity=activity)))

    # Then every page's header names the room and the snapshot, with its number
    count = len(pages)
    assert count > 2
    for number, page in enumerate(pages, start=1):
        assert f'STS <b>Laconian</b> & "Gulf" · Pre-transfer inspection Page {number} of {count}' in page.splitlines()


def test_every_page_footer_names_the_room_the_data_s_moment_and_the_hash_of_what_is_printed():
    # When a room is rendered over several pages
    content = room(activity=[ActivityLine(at="2025-02-01", actor="o@example.com", action=f"n{i}") for i in range(150)])
    pages = pages_text(render_report(content))

    # Then each page ends with the room's id, "data as of" and the SHA-256 of the printed content,
    # the one the snapshot's record holds: nothing that differs between snapshots of that content
    digest = content_hash(content, TEMPLATE_VERSION, LIBRARY_VERSION)
    assert len(pages) > 1
    for page in pages:
        assert page.splitlines()[-2:] == [
            f"Room {ROOM_ID} · Data as of 1 Mar 2025, 09:15 UTC",
            f"Content SHA-256 {digest}",
        ]


def test_the_footer_names_where_the_file_is_verified_and_that_place_is_part_of_what_is_hashed():
    # Given the same room in a deployment that names its verification page, and in one that names none
    named = room(verify_url="https://d111111abcdef8.cloudfront.net/verify")
    unnamed = room()

    # Then every page of the first says where to verify it, beside the room and the data's moment
    for page in pages_text(render_report(named)):
        assert "Verify this file: https://d111111abcdef8.cloudfront.net/verify" in page
    assert "Verify this file" not in text_of(render_report(unnamed))
    # And, being printed, it is part of the content hash: the two never share a PDF
    assert content_hash(named, TEMPLATE_VERSION, LIBRARY_VERSION) != content_hash(
        unnamed, TEMPLATE_VERSION, LIBRARY_VERSION
    )


def test_a_character_no_font_draws_prints_as_its_code_point_and_is_noted_once():
    # Given names with a private-use character, a control character and an unassigned code point
    companies = ["Private \ue000 Use", "Bell\x07Ltd", "Nul\x00Byte", "Unassigned \U000e0fff mark", "Again \ue000"]
    content = room(parties=[PartyLine(email="a@example.com", company=name, role="owner") for name in companies])

    # When rendered, Then the render succeeds, each such character is a placeholder naming it
    text = text_of(render_report(content))
    words = " ".join(text.split())  # a placeholder's box stands apart from its neighbours
    for placeholder in ("Private U+E000 Use", "Bell U+0007 Ltd", "Nul U+0000 Byte", "Unassigned U+E0FFF mark"):
        assert placeholder in words
    # and one line of the summary names them all, once
    notes = [line for line in text.splitlines() if line.startswith("Shown by code point")]
    assert notes == ["Shown by code point, as no font here can draw them: U+0000, U+0007, U+E000, U+E0FFF."]


@pytest.mark.parametrize("text", ["\ud800", "a\udfffb", "\x1b[31mred", "\x85\u2028\u2029", "\ufffe\uffff", "\x7f\x9f"])
def test_text_a_font_cannot_draw_never_fails_a_render(text):
    # Given lone surrogates, escape sequences, separators and noncharacters in every printed place
    content = room(
        title=text,
        room=room().room.model_copy(update={"title": text, "location": text}),
        parties=[PartyLine(email="a@example.com", company=text, role="owner")],
        approvals=[ApprovalLine(id="a", status="pending", comment=text, by=text, at=text)],
    )

    # When rendered, Then a PDF comes out and reads back
    assert pages_text(render_report(content))


def test_line_breaks_and_tabs_in_a_value_are_kept_as_whitespace():
    # Given a comment written over several lines, with a tab
    comment = "Hoses checked.\nFenders\tchecked."
    content = room(
        approvals=[ApprovalLine(id="a", status="approved", comment=comment, by="i@example.com", at="2025-02-27")]
    )

    # When rendered, Then its lines stay lines, and the tab separates words
    lines = text_of(render_report(content)).splitlines()
    assert lines[lines.index("Hoses checked.") + 1] == "Fenders checked."


def test_a_long_room_splits_over_pages_repeating_the_section_title_and_the_table_header():
    # Given a room with only a long activity log
    activity = [
        ActivityLine(at=f"2025-02-{1 + i % 28:02d}", actor="ops@example.com", action="note", detail=f"entry-{i:03d}")
        for i in range(300)
    ]
    content = room(parties=[], vessels=[], documents=None, approvals=None, activity=activity)

    # When rendered
    pages = pages_text(render_report(content))

    # Then it runs over several pages; each page after the first goes on under "Activity (continued)"
    # and the column titles
    assert len(pages) > 3
    assert "Activity (300)" in pages[0].splitlines()
    for page in pages[1:]:
        assert [line.strip() for line in page.splitlines()[:2]] == ["Activity (continued)", "At"]
    # and no line is lost or repeated on the way
    text = "\n".join(pages)
    assert all(text.count(f"entry-{i:03d}") == 1 for i in range(300))


def test_sections_not_asked_for_are_left_out():
    # When a room is rendered without documents, approvals and activity
    text = text_of(render_report(room(documents=None, approvals=None, activity=None)))

    # Then those sections are absent, while parties and vessels are there
    assert "Parties (9)" in text
    assert "Vessels (5)" in text
    for title in ("Documents", "Approvals", "Activity"):
        assert title not in text


def test_empty_sections_say_so():
    # When a room with nothing in it is rendered
    text = text_of(render_report(room(parties=[], vessels=[], documents=[], approvals=[], activity=[])))

    # Then each section says that nothing was recorded
    for line in ("parties", "vessels", "documents", "approvals", "activity"):
        assert f"No {line} recorded." in text


def test_documents_name_their_vessel():
    # Given documents of a vessel of the room, of a vessel no longer in it, and of no vessel
    documents = [
        DocumentLine(id="d1", name="Q88", document_type="Q88", status="approved", vessel_imo="9176180"),
        DocumentLine(id="d2", name="SIRE report", document_type="SIRE", status="approved", vessel_imo="9074729"),
        DocumentLine(id="d3", name="Charter party", document_type="CP", status="approved"),
    ]

    # When rendered
    lines = text_of(render_report(room(documents=documents))).splitlines()

    # Then each names its vessel by name and IMO, by IMO alone when the room no longer has it
    assert lines[lines.index("Q88") + 2] == "Aegean Star (IMO 9176180)"
    assert lines[lines.index("SIRE report") + 2] == "IMO 9074729"
    assert lines[lines.index("Charter party") + 2] == "—"


def test_documents_past_expiry_expiring_before_the_operation_or_soon_are_flagged():
    # Given documents expiring at various distances from the day expiry is checked on (the operation is 3 days on)
    expiries = {"lapsed": -1, "today": 0, "before the operation": 2, "at the operation": 3, "in 30 days": 30}
    expiries |= {"in 31 days": 31, "in a year": 365}
    documents = [
        DocumentLine(
            id=name, name=name, document_type="Certificate", status="approved", expires_on=CHECKED_ON + timedelta(days)
        )
        for name, days in expiries.items()
    ]

    # When rendered
    lines = text_of(render_report(room(documents=documents))).splitlines()

    # Then each expiry date is followed by its flag
    def flag(days: int) -> str:
        after = lines[lines.index(human_date(CHECKED_ON + timedelta(days))) + 1 :]
        return " ".join(after[:2]) if after[0] == "expires before" else after[0]

    assert flag(-1) == "EXPIRED"
    assert flag(0) == flag(2) == "expires before the operation"
    assert flag(3) == flag(30) == "expires soon"
    assert flag(31) not in ("EXPIRED", "expires soon", "expires before")
    assert flag(365) not in ("EXPIRED", "expires soon", "expires before")


def test_statuses_are_colour_coded():
    # Given a document in each status
    statuses = ["approved", "uploaded", "missing", "rejected", "expired"]
    documents = [DocumentLine(id=s, name=f"doc {s}", document_type="Certificate", status=s) for s in statuses]
    reader = PdfReader(io.BytesIO(render_report(room(documents=documents))))

    # When the fill colour in force for each piece of text is recorded
    colour_of = {}
    fill = [None]

    def before_operator(operator, operands, *_):
        if operator == b"rg":
            fill[0] = tuple(round(float(value), 2) for value in operands)

    def on_text(text, *_):
        colour_of.setdefault(text.strip(), fill[0])

    for page in reader.pages:
        page.extract_text(visitor_operand_before=before_operator, visitor_text=on_text)

    # Then approved is green, uploaded blue, missing grey, rejected and expired red
    def hue(rgb: tuple[float, float, float]) -> str:
        angle, saturation, _ = colorsys.rgb_to_hsv(*rgb)
        hues_from = {0: "red", 20: "amber", 60: "green", 180: "blue", 300: "red"}  # degrees on the colour wheel
        return "grey" if saturation < 0.1 else hues_from[max(d for d in hues_from if d <= angle * 360)]

    assert [hue(colour_of[s.capitalize()]) for s in statuses] == ["green", "blue", "grey", "red", "red"]


def test_very_long_values_wrap_and_split_across_pages_without_losing_text():
    # Given a 5,000-character comment, 300-character tokens with no spaces and a 5,000-character one
    words = [f"word{i:04d}" for i in range(556)]  # 5,003 characters with the spaces
    content = room(
        parties=[PartyLine(email="a@example.com", company="Ж" * 300, role="owner")],
        documents=[DocumentLine(id="d", name="Щ" * 300, document_type="Certificate", status="approved")],
        approvals=[
            ApprovalLine(id="a", status="pending", comment=" ".join(words), by="i@example.com", at="2025-02-27")
        ],
        activity=[ActivityLine(at="2025-02-26", actor="ops@example.com", action="note", detail="Ы" * 5000)],
    )

    # When rendered
    pdf = render_report(content)

    # Then every character of every value is printed, however the lines and pages broke (the
    # verdict names the document once more)
    text = text_of(pdf)
    assert text.count("Ж") == 300
    assert text.count("Щ") == 300
    assert text.count("Ы") == 5000
    assert re.findall(r"word\d{4}", text) == words
    # and no line spills out of the page body into the footer
    footer = ("Room ", "Content SHA-256 ")
    assert min(y for text, y in text_lines(pdf) if not text.startswith(footer)) >= PAGE_MARGIN + FOOTER_SPACE


def test_very_long_text_in_any_script_wraps_within_its_column_and_splits_across_pages():
    # Given a 3,000-character Arabic comment, and CJK and emoji runs with no space to break at
    arabic = " ".join(["شركة الخليج للشحن"] * 176)  # 3,167 characters
    cjk, emoji = "中远海运能源运输股份有限公司" * 150, "🚢" * 400
    content = room(
        approvals=[
            ApprovalLine(id=f"a{i}", status="pending", comment=text, by="i@example.com", at="2025-02-27")
            for i, text in enumerate((arabic, cjk, emoji))
        ]
    )

    # When rendered
    pdf = render_report(content)

    # Then all of it is printed, over more than one page
    text = text_of(pdf)
    assert text.count("شركة الخليج للشحن") == 176
    assert text.count("能") == text.count("司") == 150  # of the CJK comment alone
    assert text.count("🚢") == 400
    assert len(pages_text(pdf)) > 1


def test_cells_whose_page_split_was_refused_still_print():
    # Given 50 approvals whose comments are 2000 characters without a space: some rows reach a page
    # end where ReportLab tries to split a cell, finds no room, and drops that cell's layout
    comment = "a" * 2000
    approvals = [ApprovalLine(id="a", status="approved", comment=comment, by="i@example.com", at="2025-02-27")] * 50
    content = room(parties=[], vessels=[], documents=[], activity=[], approvals=approvals)

    # When it is rendered
    pdf = render_report(content)

    # Then every comment is printed whole (once the layout is gone the cell must be laid out again)
    assert text_of(pdf).count("a") >= 50 * 2000


def test_approvals_say_whose_they_are_and_what_they_approve():
    # Given an approval recorded by an inspector for the owner, of the Q88, and one of the transfer
    approvals = [
        ApprovalLine(
            id="a1",
            status="approved",
            comment="",
            by="i@example.com",
            at="2025-02-27",
            party="o@example.com",
            document_id="d2",
        ),
        ApprovalLine(id="a2", status="approved", comment="", by="i@example.com", at="2025-02-28"),
    ]

    # When rendered
    lines = text_of(render_report(room(approvals=approvals))).splitlines()

    # Then the approval names its party, who recorded it, and the document; the other the transfer
    first = lines.index("o@example.com")
    assert lines[first : first + 4] == ["o@example.com", "recorded by i@example.com", "Q88", "questionnaire"]
    assert lines[lines.index("i@example.com") + 1] == "The transfer"


# ------------------------------------------------------------------------------------ the verdict


def verdict_lines(content: ReportContent) -> list[str]:
    """The lines of the box that opens page 1, up to the snapshot's title."""
    lines = body_lines(content)
    return lines[: lines.index(content.title)]


def test_a_cleared_room_says_so_at_the_top_of_page_1():
    documents = [
        DocumentLine(id="d", name="Q88", document_type="Q88", status="approved", expires_on=CHECKED_ON + timedelta(400))
    ]
    approvals = [ApprovalLine(id="a", status="approved", comment="", by="i@example.com", at="2025-02-27T10:00:00Z")]
    assert verdict_lines(room(documents=documents, approvals=approvals)) == [
        "CLEARED",
        "No document or approval recorded here blocks the transfer.",
        "Judged on 1 Mar 2025 against the operation on 4 Mar 2025, 06:00 UTC.",
    ]


def test_the_verdict_names_every_blocker_with_its_vessel_and_date():
    # Given an expired certificate of a vessel, one expiring before the operation, one missing, one
    # only uploaded, and a rejected and a pending approval
    documents = [
        DocumentLine(
            id="d1",
            name="SSC",
            document_type="c",
            status="approved",
            expires_on=CHECKED_ON - timedelta(2),
            vessel_imo="9176180",
        ),
        DocumentLine(id="d2", name="P&I", document_type="c", status="approved", expires_on=CHECKED_ON + timedelta(1)),
        DocumentLine(id="d3", name="Crew list", document_type="l", status="missing"),
        DocumentLine(id="d4", name="Q88", document_type="q", status="uploaded"),
    ]
    approvals = [
        ApprovalLine(id="a1", status="rejected", comment="hoses", by="i@example.com", at="2025-02-27T08:00:00Z"),
        ApprovalLine(id="a2", status="pending", comment="", by="o@example.com", at="2025-02-28T09:30:00Z"),
    ]

    # Then the box says the transfer is not cleared and names each blocker
    assert verdict_lines(room(documents=documents, approvals=approvals)) == [
        "NOT CLEARED",
        "6 things block the transfer. Judged on 1 Mar 2025 against the operation on 4 Mar 2025, 06:00 UTC.",
        "• Expired: SSC of Aegean Star, on 27 Feb 2025",
        "• Expires before the operation: P&I, valid until 2 Mar 2025",
        "• Missing: Crew list",
        "• Not approved: Q88, status uploaded",
        "• Rejected by i@example.com on 27 Feb 2025, 08:00 UTC",
        "• Approval pending from o@example.com since 28 Feb 2025, 09:30 UTC",
    ]


def test_a_room_without_any_approval_is_not_cleared():
    assert verdict_lines(room(approvals=[]))[-1] == "• No approval recorded"


def test_a_long_list_of_blockers_names_the_first_and_counts_the_rest():
    documents = [
        DocumentLine(id=f"d{i:02d}", name=f"Doc {i:02d}", document_type="c", status="missing") for i in range(25)
    ]
    lines = verdict_lines(room(documents=documents))
    assert lines[2 : 2 + VERDICT_LINES] == [f"• Missing: Doc {i:02d}" for i in range(VERDICT_LINES)]
    assert lines[-1] == f"… and {25 - VERDICT_LINES} more: the Documents and Approvals sections list them all."


def test_a_snapshot_without_documents_or_approvals_does_not_claim_clearance():
    assert verdict_lines(room(documents=None))[:2] == [
        "NOT ASSESSED",
        "This snapshot leaves out documents or approvals, so it cannot say whether the transfer is cleared.",
    ]


def test_the_summary_counts_documents_and_approvals_and_names_what_expires_soon():
    documents = [
        DocumentLine(id="d1", name="Q88", document_type="q", status="approved", expires_on=CHECKED_ON + timedelta(10)),
        DocumentLine(id="d2", name="Crew list", document_type="l", status="missing"),
    ]
    lines = body_lines(room(documents=documents))
    start = lines.index("Documents: 1 approved, 1 missing")
    assert lines[start : start + 3] == [
        "Documents: 1 approved, 1 missing",
        "Expiring within 30 days: Q88 (11 Mar 2025)",
        "Approvals: 0 pending, 1 approved, 0 rejected",
    ]


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("2026-12-01T19:26:00Z", "1 Dec 2026, 19:26 UTC"),
        ("2026-12-01T19:26:41.123Z", "1 Dec 2026, 19:26 UTC"),
        ("2026-12-01T21:26:00+02:00", "1 Dec 2026, 19:26 UTC"),
        ("2026-12-01", "1 Dec 2026"),
        ("not a time", "not a time"),
    ],
)
def test_times_print_as_people_read_them_in_utc(written, read):
    assert human_time(written) == read
