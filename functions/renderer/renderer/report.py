"""Render a room's ReportContent as the PDF an operator hands to an inspector."""

import unicodedata
from collections import Counter
from datetime import UTC, date, datetime
from functools import cache
from io import BytesIO
from itertools import groupby
from pathlib import Path
from typing import NamedTuple
from xml.sax.saxutils import escape

from reportlab.lib.colors import Color, HexColor, white
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import CondPageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from roomsnap.models import ActivityLine, ApprovalLine, DocumentLine, PartyLine, ReportContent, VesselLine

# Part of the content hash: bump it whenever anything here changes what a PDF looks like.
TEMPLATE_VERSION = "2"  # 2: the summary block, times as people read them

REGULAR, BOLD, HAN, HANGUL = "DejaVuSans", "DejaVuSans-Bold", "DroidSansFallback", "NanumGothic"
FONTS_DIR = Path(__file__).parent / "fonts"
FONT_FILES = {
    REGULAR: "DejaVuSans.ttf",
    BOLD: "DejaVuSans-Bold.ttf",
    HAN: "DroidSansFallbackFull.ttf",
    HANGUL: "NanumGothic.ttf",
}
FALLBACK_FONTS = (HAN, HANGUL)
# ReportLab lays text out left to right only: Hebrew or Arabic would print reversed, so it is refused.
RIGHT_TO_LEFT = ("R", "AL")


@cache
def glyphs(name: str) -> frozenset[str]:
    """The characters a report font can print. Registers the font on first use: the large CJK
    fallbacks are parsed only when a room needs them, which keeps them out of the cold start."""
    pdfmetrics.registerFont(TTFont(name, str(FONTS_DIR / FONT_FILES[name])))
    return frozenset(
        ch
        for ch in map(chr, pdfmetrics.getFont(name).face.charToGlyph)
        if unicodedata.category(ch) != "Cc" and unicodedata.bidirectional(ch) not in RIGHT_TO_LEFT
    )


def load_fonts() -> None:
    """Registers the report's own fonts (about 20 ms: their glyph tables): on the first render, not
    at import, so a cold start without SnapStart does not wait for them (with SnapStart, they are
    loaded before the snapshot)."""
    glyphs(REGULAR), glyphs(BOLD)


# Colour objects, not strings: ReportLab would parse a string again every time a table splits.
RED, AMBER, GREEN, BLUE, GREY = map(HexColor, ("#b3261e", "#a15c00", "#1e7b34", "#1f5fbf", "#6b6b6b"))
STATUS_COLOURS = {
    "approved": GREEN,
    "uploaded": BLUE,
    "missing": GREY,
    "rejected": RED,
    "expired": RED,
    "pending": AMBER,
}
EXPIRES_SOON_DAYS = 30

PAGE_MARGIN = 15 * mm
FRAME_WIDTH = A4[0] - 2 * PAGE_MARGIN
TITLE = ParagraphStyle("title", fontName=BOLD, fontSize=16, leading=20, spaceAfter=4)
SUBTITLE = ParagraphStyle("subtitle", fontName=BOLD, fontSize=12, leading=15, spaceAfter=4)
META = ParagraphStyle("meta", fontName=REGULAR, fontSize=9, leading=12)
HEADING = ParagraphStyle("heading", fontName=BOLD, fontSize=12, leading=15, spaceBefore=12, spaceAfter=4)
BODY = ParagraphStyle("body", fontName=REGULAR, fontSize=9, leading=12, textColor=GREY)
# Leading 1.2 × size: a table splitting a tall row of plain lines assumes that spacing.
CELL = ParagraphStyle("cell", fontName=REGULAR, fontSize=8, leading=9.6)
CELL_PADDING = 4
TABLE_STYLE = TableStyle(
    [
        ("FONT", (0, 0), (-1, 0), BOLD, CELL.fontSize, CELL.leading),
        ("FONT", (0, 1), (-1, -1), REGULAR, CELL.fontSize, CELL.leading),
        ("TEXTCOLOR", (0, 0), (-1, 0), white),
        ("BACKGROUND", (0, 0), (-1, 0), HexColor("#27415e")),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [white, HexColor("#f1f4f7")]),
        ("GRID", (0, 0), (-1, -1), 0.25, HexColor("#b8c2cc")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
)
# A heading starts a new page unless this much room is left below it for the first rows.
HEADING_MIN_SPACE = 80
# A row taller than what is left of a page splits, as long as each piece is at least this high.
MIN_ROW_PIECE = 20

PARTY_COLUMNS = (("Email", 0.38), ("Company", 0.42), ("Role", 0.20))
VESSEL_COLUMNS = (("Name", 0.38), ("IMO", 0.14), ("Type", 0.26), ("Flag", 0.22))
DOCUMENT_COLUMNS = (("Name", 0.30), ("Type", 0.21), ("Vessel IMO", 0.13), ("Status", 0.13), ("Expires on", 0.23))
APPROVAL_COLUMNS = (("Status", 0.13), ("By", 0.27), ("At", 0.24), ("Comment", 0.36))
ACTIVITY_COLUMNS = (("At", 0.24), ("Actor", 0.26), ("Action", 0.18), ("Detail", 0.32))


def font_for(ch: str, base_font: str) -> str:
    if ch.isspace():  # Paragraph breaks lines on any whitespace, so it is never drawn as a glyph
        return base_font
    for name in (base_font, *FALLBACK_FONTS):
        if ch in glyphs(name):
            return name
    reason = (
        "right-to-left text is not supported"
        if unicodedata.bidirectional(ch) in RIGHT_TO_LEFT
        else "no report font has a glyph for it"
    )
    raise ValueError(f"cannot print {ch!r} (U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed character')}): {reason}")


def markup(text: str, base_font: str = REGULAR) -> str:
    """User text as Paragraph markup: escaped, with runs the base font cannot draw set in a fallback font."""
    if glyphs(base_font).issuperset(text):  # the common case: no fallback font and no line break
        return escape(text)
    runs = ((name, escape("".join(chars))) for name, chars in groupby(text, lambda ch: font_for(ch, base_font)))
    marked = "".join(run if name == base_font else f'<font name="{name}">{run}</font>' for name, run in runs)
    return marked.replace("\n", "<br/>")


class CellParagraph(Paragraph):
    """A Paragraph that keeps its layout: a table measures every cell again on each wrap and split
    attempt, while a paragraph's layout depends on the width alone. The layout is `blPara`, which
    Paragraph.split deletes when it finds no room to split; it is then laid out again."""

    def wrap(self, availWidth, availHeight):
        if getattr(self, "_wrapped_width", None) != availWidth or not hasattr(self, "blPara"):
            self._wrapped_size = super().wrap(availWidth, availHeight)
            self._wrapped_width = availWidth
        return self._wrapped_size


class Highlight(NamedTuple):
    """A cell value printed in bold and in colour, such as a status."""

    text: str
    colour: Color


def to_cell(value: str | Highlight, width: float) -> str | Paragraph:
    """A table draws plain lines many times faster than a Paragraph, so text in the regular font whose
    words all fit the column is wrapped here; anything else becomes a Paragraph, which falls back to
    other fonts and splits over-long words. A highlight's text is ours and always fits."""
    if isinstance(value, Highlight):
        return value.text
    text_width = width - 2 * CELL_PADDING
    if glyphs(REGULAR).issuperset(value):
        # Most values are one line that fits: what simpleSplit would return for them unchanged.
        if " ".join(value.split()) == value and stringWidth(value, REGULAR, CELL.fontSize) <= text_width:
            return value
        lines = simpleSplit(value, REGULAR, CELL.fontSize, text_width)
        if all(stringWidth(line, REGULAR, CELL.fontSize) <= text_width for line in lines):
            return "\n".join(lines)
    return CellParagraph(markup(value), CELL)


def status_highlight(status: str) -> Highlight:
    return Highlight(status.capitalize(), STATUS_COLOURS[status])


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def human_date(day: date) -> str:
    """A day as people read it, whatever the locale: "15 Jan 2027"."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def human_time(text: str) -> str:
    """An ISO 8601 time as people read it, in UTC: "1 Dec 2026, 19:26 UTC" (a bare date as a day)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if "T" not in text and " " not in text:
        return human_date(moment.date())
    moment = moment.astimezone(UTC) if moment.tzinfo else moment
    return f"{human_date(moment.date())}, {moment:%H:%M} UTC"


def days_left(document: DocumentLine, checked_on: date) -> int | None:
    return None if document.expires_on is None else (document.expires_on - checked_on).days


def expiry_value(expires_on: date | None, checked_on: date) -> str | Highlight:
    if expires_on is None:
        return "—"
    left = (expires_on - checked_on).days
    if left < 0:
        return Highlight(f"{human_date(expires_on)}\nEXPIRED", RED)
    if left <= EXPIRES_SOON_DAYS:
        return Highlight(f"{human_date(expires_on)}\nexpires soon", AMBER)
    return human_date(expires_on)


def party_row(party: PartyLine) -> list:
    return [party.email, party.company, party.role.value.capitalize()]


def vessel_row(vessel: VesselLine) -> list:
    return [vessel.name, vessel.imo, vessel.vessel_type, vessel.flag]


def document_row(document: DocumentLine, checked_on: date) -> list:
    return [
        document.name,
        document.document_type,
        document.vessel_imo or "—",
        status_highlight(document.status.value),
        expiry_value(document.expires_on, checked_on),
    ]


def approval_row(approval: ApprovalLine) -> list:
    return [status_highlight(approval.status.value), approval.by, human_time(approval.at), approval.comment]


def activity_row(line: ActivityLine) -> list:
    return [human_time(line.at), line.actor, line.action, line.detail]


def section(title: str, rows: list[list[str | Highlight]], columns: tuple[tuple[str, float], ...]) -> list:
    heading = [CondPageBreak(HEADING_MIN_SPACE), Paragraph(f"{title} ({len(rows)})", HEADING)]
    if not rows:
        return [*heading, Paragraph(f"No {title.lower()} recorded.", BODY)]
    widths = [share * FRAME_WIDTH for _, share in columns]
    cells = [[name for name, _ in columns]]
    highlights: dict[int, list[tuple[int, Color]]] = {}  # column -> (row, colour) of its highlighted cells
    for y, row in enumerate(rows, start=1):
        cells.append([to_cell(value, width) for value, width in zip(row, widths, strict=False)])
        for x, value in enumerate(row):
            if isinstance(value, Highlight):
                highlights.setdefault(x, []).append((y, value.colour))
    table = Table(cells, colWidths=widths, repeatRows=1, splitInRow=MIN_ROW_PIECE, style=TABLE_STYLE)
    table.setStyle(highlight_styles(highlights))
    return [*heading, table]


def highlight_styles(highlights: dict[int, list[tuple[int, Color]]]) -> list[tuple]:
    """Bold and colour for the highlighted cells, one command per run of consecutive rows of a column
    in the same colour (a table applies every command to every cell it covers, on each split)."""
    styles: list[tuple] = []
    for x, cells in highlights.items():
        runs: list[list] = []  # [first row, last row, colour]
        for y, colour in cells:
            if runs and runs[-1][1] == y - 1 and runs[-1][2] is colour:
                runs[-1][1] = y
            else:
                runs.append([y, y, colour])
        for first, last, colour in runs:
            styles += [("FONTNAME", (x, first), (x, last), BOLD), ("TEXTCOLOR", (x, first), (x, last), colour)]
    return styles


def header(content: ReportContent) -> list:
    room = content.room
    return [
        Paragraph(markup(content.title, BOLD), TITLE),
        Paragraph(markup(room.title, BOLD), SUBTITLE),
        Paragraph(f"Location: {markup(room.location)}", META),
        Paragraph(f"Operation time: {markup(human_time(room.operation_time))}", META),
        Paragraph(
            f"Data as of {markup(human_time(room.data_as_of))} · Expiry checked on "
            f"{human_date(content.expiry_checked_on)}",
            META,
        ),
        Spacer(0, 4),
    ]


def named(documents: list[DocumentLine], most: int = 3) -> str:
    """Document names and expiry days, the first few of them."""
    names = [f"{markup(d.name)} ({human_date(d.expires_on)})" if d.expires_on else markup(d.name) for d in documents]
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def summary(content: ReportContent) -> list:
    """The first questions a reader has: how the documents and approvals stand, and whether
    anything recorded here blocks the transfer. Derived from what the report prints, so the
    content hash covers it."""
    checked_on, lines, blockers = content.expiry_checked_on, [], []
    if content.documents is not None:
        statuses = Counter(document.status.value for document in content.documents)
        lines.append(
            "Documents: " + (", ".join(f"{n} {status}" for status, n in sorted(statuses.items())) or "none recorded")
        )
        expired = [d for d in content.documents if d.status.value == "expired" or (days_left(d, checked_on) or 0) < 0]
        soon = [
            d
            for d in content.documents
            if d not in expired and 0 <= (days_left(d, checked_on) or -1) <= EXPIRES_SOON_DAYS
        ]
        if expired:
            lines.append(f"Expired: {named(expired)}")
            blockers.append(f"{plural(len(expired), 'document')} expired")
        if soon:
            lines.append(f"Expiring within {EXPIRES_SOON_DAYS} days: {named(soon)}")
        unsettled = [d for d in content.documents if d not in expired and d.status.value != "approved"]
        if unsettled:
            blockers.append(f"{plural(len(unsettled), 'document')} not approved ({named(unsettled)})")
    if content.approvals is not None:
        approvals = Counter(approval.status.value for approval in content.approvals)
        counted = ", ".join(f"{approvals[status]} {status}" for status in ("pending", "approved", "rejected"))
        lines.append(f"Approvals: {counted}")
        blockers += [
            f"{plural(approvals[status], 'approval')} {status}"
            for status in ("rejected", "pending")
            if approvals[status]
        ]
        if not content.approvals:
            blockers.append("no approval recorded")
    if content.documents is None or content.approvals is None:
        verdict, colour = "Not assessed: this snapshot leaves out documents or approvals.", GREY
    elif blockers:
        verdict, colour = "Not cleared: " + "; ".join(blockers) + ".", RED
    else:
        verdict, colour = "Cleared: no document or approval recorded here blocks the transfer.", GREEN
    verdict_style = ParagraphStyle("verdict", parent=META, fontName=BOLD, textColor=colour, spaceBefore=4)
    return [*(Paragraph(line, META) for line in lines), Paragraph(verdict, verdict_style), Spacer(0, 4)]


class NumberedCanvas(Canvas):
    """Holds every page back until the last one is laid out, then stamps "Page X of Y" on each."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._held_pages = []

    def showPage(self):
        self._held_pages.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        page_count = len(self._held_pages)
        for page in self._held_pages:
            self.__dict__.update(page)
            self.setFont(REGULAR, 8)
            self.setFillColor(GREY)
            self.drawRightString(A4[0] - PAGE_MARGIN, PAGE_MARGIN / 2, f"Page {self._pageNumber} of {page_count}")
            super().showPage()
        super().save()


def render_report(content: ReportContent) -> bytes:
    """The report as PDF bytes, identical for identical content. Raises ValueError for text it cannot print."""
    load_fonts()
    checked_on = content.expiry_checked_on
    story = header(content) + summary(content)
    story += section("Parties", [party_row(party) for party in content.parties], PARTY_COLUMNS)
    story += section("Vessels", [vessel_row(vessel) for vessel in content.vessels], VESSEL_COLUMNS)
    if content.documents is not None:
        rows = [document_row(document, checked_on) for document in content.documents]
        story += section("Documents", rows, DOCUMENT_COLUMNS)
    if content.approvals is not None:
        story += section("Approvals", [approval_row(approval) for approval in content.approvals], APPROVAL_COLUMNS)
    if content.activity is not None:
        story += section("Activity", [activity_row(line) for line in content.activity], ACTIVITY_COLUMNS)

    buffer = BytesIO()
    pdf = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=PAGE_MARGIN,
        rightMargin=PAGE_MARGIN,
        topMargin=PAGE_MARGIN,
        bottomMargin=PAGE_MARGIN,
        title=content.title,
        subject="Room snapshot",
        invariant=1,
    )
    pdf.build(story, canvasmaker=NumberedCanvas)
    return buffer.getvalue()
