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

from roomsnap.models import (
    ActivityLine,
    ApprovalLine,
    DocumentLine,
    PartyLine,
    ReportContent,
    ReportRoom,
    VesselLine,
)

from renderer.report import PAGE_MARGIN, human_date, human_time, render_report

CHECKED_ON = date(2025, 3, 1)
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
            DocumentLine(id="d", name="Ship Sanitation Certificate", document_type="Certificate", status="approved"),
            DocumentLine(
                id="d", name="Q88 questionnaire", document_type="Q88", status="uploaded", vessel_imo="9176187"
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

    # Then all three PDFs are the same bytes, stamped with ReportLab's fixed invariant date, not the clock
    assert first == second
    assert fresh.stdout.strip() == hashlib.sha256(first).hexdigest()
    assert PdfReader(io.BytesIO(first)).metadata["/CreationDate"].startswith("D:2000")


def test_names_in_any_script_and_markup_characters_print_as_written():
    # When a room with Greek, Cyrillic, Turkish, Chinese, Japanese, Korean and markup-like names is rendered
    text = text_of(render_report(room()))

    # Then every name is in the PDF's text exactly as written
    for name in [*COMPANIES, *VESSEL_NAMES, "Ship Sanitation Certificate", "Q88 questionnaire"]:
        assert name in text


def test_the_header_names_the_snapshot_the_room_and_the_dates_it_speaks_for():
    # When a room is rendered
    first_page = pages_text(render_report(room()))[0]

    # Then its first lines say what, where and when
    assert first_page.splitlines()[:5] == [
        "Pre-transfer inspection",
        'STS <b>Laconian</b> & "Gulf"',
        "Location: Laconian Gulf, Greece",
        "Operation time: 4 Mar 2025, 06:00 UTC",
        "Data as of 1 Mar 2025, 09:15 UTC · Expiry checked on 1 Mar 2025",
    ]


@pytest.mark.parametrize(
    ("company", "message"),
    [("Blue Whale 🐋 Shipping", "U+1F40B WHALE"), ("شركة الملاحة", "right-to-left"), ("Nul\x00Byte", "U+0000")],
)
def test_a_character_that_cannot_be_printed_faithfully_is_a_clear_error(company, message):
    # Given a party whose company name has a character no report font draws, or right-to-left text
    content = room(parties=[PartyLine(email="a@example.com", company=company, role="owner")])

    # When rendered, Then it fails naming the problem instead of printing boxes or reversed text
    with pytest.raises(ValueError, match=re.escape(message)):
        render_report(content)


def test_line_breaks_and_tabs_in_a_value_are_kept_as_whitespace():
    # Given a comment written over several lines, with a tab
    comment = "Hoses checked.\nFenders\tchecked."
    content = room(
        approvals=[ApprovalLine(id="a", status="approved", comment=comment, by="i@example.com", at="2025-02-27")]
    )

    # When rendered, Then its lines stay lines, and the tab separates words
    lines = text_of(render_report(content)).splitlines()
    assert lines[lines.index("Hoses checked.") + 1] == "Fenders checked."


def test_a_long_room_splits_over_numbered_pages_repeating_the_table_header():
    # Given a room with only a long activity log
    activity = [
        ActivityLine(at=f"2025-02-{1 + i % 28:02d}", actor="ops@example.com", action="note", detail=f"entry-{i:03d}")
        for i in range(300)
    ]
    content = room(parties=[], vessels=[], documents=None, approvals=None, activity=activity)

    # When rendered
    pages = pages_text(render_report(content))

    # Then it runs over several pages, each numbered "Page X of N" and each showing the column titles
    count = len(pages)
    assert count > 3
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {count}" in page
        assert "Detail" in page.splitlines()
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


def test_documents_past_or_near_expiry_are_flagged():
    # Given documents expiring at various distances from the day expiry is checked on
    expiries = {"lapsed": -1, "today": 0, "in 30 days": 30, "in 31 days": 31, "in a year": 365}
    documents = [
        DocumentLine(
            id="d", name=name, document_type="Certificate", status="uploaded", expires_on=CHECKED_ON + timedelta(days)
        )
        for name, days in expiries.items()
    ]

    # When rendered
    lines = text_of(render_report(room(documents=documents))).splitlines()

    # Then each expiry date is followed by its flag: expired before the day, "expires soon" within 30 days of it
    def line_after(days: int) -> str:
        return lines[lines.index(human_date(CHECKED_ON + timedelta(days))) + 1]

    flags = ("EXPIRED", "expires soon")
    assert line_after(-1) == "EXPIRED"
    assert line_after(0) == line_after(30) == "expires soon"
    assert line_after(31) not in flags
    assert line_after(365) not in flags
    assert sum(line in flags for line in lines) == 3


def test_statuses_are_colour_coded():
    # Given a document in each status
    statuses = ["approved", "uploaded", "missing", "rejected", "expired"]
    documents = [DocumentLine(id="d", name=f"doc {s}", document_type="Certificate", status=s) for s in statuses]
    reader = PdfReader(io.BytesIO(render_report(room(documents=documents))))

    # When the fill colour in force for each piece of text is recorded
    colour_of = {}
    fill = [None]

    def before_operator(operator, operands, *_):
        if operator == b"rg":
            fill[0] = tuple(round(float(value), 2) for value in operands)

    def on_text(text, *_):
        colour_of.setdefault(text.strip(), fill[0])

    reader.pages[0].extract_text(visitor_operand_before=before_operator, visitor_text=on_text)

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

    # Then every character of every value is printed, however the lines and pages broke
    text = text_of(pdf)
    assert text.count("Ж") == 300
    assert text.count("Щ") == 300
    assert text.count("Ы") == 5000
    assert re.findall(r"word\d{4}", text) == words
    # and no line spills out of the page body into the footer
    assert min(y for text, y in text_lines(pdf) if not text.startswith("Page ")) >= PAGE_MARGIN


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


def summary_lines(content: ReportContent) -> list[str]:
    """The lines between the header and the first section."""
    lines = pages_text(render_report(content))[0].splitlines()
    return lines[5 : lines.index(next(line for line in lines if line.startswith("Parties (")))]


def test_the_summary_says_how_documents_and_approvals_stand_and_that_nothing_blocks():
    documents = [
        DocumentLine(id="d", name="Q88", document_type="Q88", status="approved", expires_on=CHECKED_ON + timedelta(400))
    ]
    approvals = [ApprovalLine(id="a", status="approved", comment="", by="i@example.com", at="2025-02-27T10:00:00Z")]
    assert summary_lines(room(documents=documents, approvals=approvals)) == [
        "Documents: 1 approved",
        "Approvals: 0 pending, 1 approved, 0 rejected",
        "Cleared: no document or approval recorded here blocks the transfer.",
    ]


def test_the_summary_names_what_blocks_the_transfer():
    # Given an expired certificate, one expiring soon, one missing, and a rejected approval
    documents = [
        DocumentLine(id="d", name="SSC", document_type="c", status="approved", expires_on=CHECKED_ON - timedelta(2)),
        DocumentLine(id="d", name="Q88", document_type="q", status="approved", expires_on=CHECKED_ON + timedelta(10)),
        DocumentLine(id="d", name="Crew list", document_type="l", status="missing"),
    ]
    approvals = [ApprovalLine(id="a", status="rejected", comment="hoses", by="i@example.com", at="2025-02-27")]
    # Then the summary names them, and says the transfer is not cleared and why
    lines = summary_lines(room(documents=documents, approvals=approvals))
    assert lines[:3] == [
        "Documents: 2 approved, 1 missing",
        "Expired: SSC (27 Feb 2025)",
        "Expiring within 30 days: Q88 (11 Mar 2025)",
    ]
    verdict = " ".join(lines[4:])
    assert verdict == "Not cleared: 1 document expired; 1 document not approved (Crew list); 1 approval rejected."


def test_a_snapshot_without_documents_or_approvals_does_not_claim_clearance():
    lines = summary_lines(room(documents=None))
    assert lines[-1] == "Not assessed: this snapshot leaves out documents or approvals."


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
