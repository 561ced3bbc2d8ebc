"""Render a room's ReportContent as the PDF an operator hands to an inspector or an auditor.

Page 1 opens with the verdict (roomsnap.clearance's answer, in a box that names every blocker);
every page carries the room and snapshot titles and "Page N of M" above, and the room's id, the
"data as of" time and the SHA-256 of the printed content below. Nothing that differs between
snapshots of the same content (snapshot id, requester, the moment of rendering) is printed, so the
cache may serve one PDF for all of them.

User text in any script prints (renderer.typesetting); plain text, what the base font draws
without shaping (most of a typical room), takes ReportLab's faster plain paths.
"""

import zlib
from collections import Counter
from datetime import UTC, date, datetime
from functools import cache, partial
from io import BytesIO
from typing import NamedTuple
from xml.sax.saxutils import escape

import bidi
import reportlab
import uharfbuzz
from reportlab.lib.colors import Color, HexColor, white
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import CondPageBreak, Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from roomsnap.clearance import Blocker, BlockerKind, Clearance, ClearanceStatus
from roomsnap.content import printed_clearance
from roomsnap.hashing import content_hash
from roomsnap.models import ActivityLine, ApprovalLine, DocumentLine, PartyLine, ReportContent, VesselLine

from renderer.typefaces import BOLD, REGULAR, loaded, plain_characters
from renderer.typesetting import TextBlock, draw_line, first_line, placeholder, unprintable, valid

# Part of the content hash: bump it whenever anything here changes what a PDF looks like.
TEMPLATE_VERSION = "3"  # 3: every script (Noto fonts, shaping, bidi), the verdict box, running header and footer
# What else shapes the bytes: the PDF library, zlib (it compresses the page streams), HarfBuzz and
# the bidi algorithm (they choose and place the glyphs).
LIBRARY_VERSION = (
    f"reportlab {reportlab.Version}; zlib {zlib.ZLIB_RUNTIME_VERSION}; "
    f"harfbuzz {uharfbuzz.version_string()}; python-bidi {bidi.VERSION}"
)
AUTHOR = "Room Snapshots"


@cache
def load_fonts() -> None:
    """Registers the base fonts, which every report uses (the others load when a room needs them),
    and the sets of characters they draw as they are: on the first render, not at import, so a cold
    start without SnapStart does not wait for them (with SnapStart, they are loaded before the
    snapshot)."""
    loaded(REGULAR), loaded(BOLD), plain_characters(REGULAR), plain_characters(BOLD)


# Colour objects, not strings: ReportLab would parse a string again every time a table splits.
RED, AMBER, GREEN, BLUE, GREY = map(HexColor, ("#b3261e", "#a15c00", "#1e7b34", "#1f5fbf", "#6b6b6b"))
RULE = HexColor("#b8c2cc")
TINTS = {GREEN: HexColor("#eef6f0"), RED: HexColor("#fbeeed"), GREY: HexColor("#f2f2f2")}
STATUS_COLOURS = {
    "approved": GREEN,
    "uploaded": BLUE,
    "missing": GREY,
    "rejected": RED,
    "expired": RED,
    "pending": AMBER,
}
EXPIRES_SOON_DAYS = 30
VERDICT_LINES = 10  # blockers named in the box; the sections below list every document and approval

PAGE_MARGIN = 12 * mm
HEADER_SPACE, FOOTER_SPACE = 7 * mm, 9 * mm  # between the page's edge margin and the body
FRAME_PADDING = 6  # ReportLab's Frame default: the body starts this far inside the margin
BODY_LEFT = PAGE_MARGIN + FRAME_PADDING
FRAME_WIDTH = A4[0] - 2 * BODY_LEFT
TITLE = ParagraphStyle("title", fontName=BOLD, fontSize=16, leading=20, spaceAfter=4)
SUBTITLE = ParagraphStyle("subtitle", fontName=BOLD, fontSize=12, leading=15, spaceAfter=4)
META = ParagraphStyle("meta", fontName=REGULAR, fontSize=9, leading=12)
HEADING = ParagraphStyle("heading", fontName=BOLD, fontSize=12, leading=15)
BODY = ParagraphStyle("body", fontName=REGULAR, fontSize=9, leading=12, textColor=GREY)
# Leading 1.2 × size: a table splitting a tall row of plain lines assumes that spacing.
CELL = ParagraphStyle("cell", fontName=REGULAR, fontSize=8, leading=9.6)
CELL_PADDING = 6  # ReportLab's default, left and right (3 above and below): no style command needed
FURNITURE_SIZE = 7.5  # the running header and footer
# A section's table: row 0 its title (repeated, as "… (continued)", on every page it continues
# on), drawn from its first cell, row 1 the column headings (repeated too), then the rows.
TABLE_STYLE = TableStyle(
    [
        ("FONT", (0, 0), (-1, -1), REGULAR, CELL.fontSize, CELL.leading),
        ("FONT", (0, 1), (-1, 1), BOLD, CELL.fontSize, CELL.leading),
        ("TEXTCOLOR", (0, 1), (-1, 1), white),
        ("BACKGROUND", (0, 1), (-1, 1), HexColor("#27415e")),
        ("GRID", (0, 1), (-1, -1), 0.25, RULE),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
)
FIRST_ROW = 2
# A heading starts a new page unless this much room is left below it for the first rows.
HEADING_MIN_SPACE = 80
# A row taller than what is left of a page splits, as long as each piece is at least this high.
MIN_ROW_PIECE = 20

PARTY_COLUMNS = (("Email", 0.38), ("Company", 0.42), ("Role", 0.20))
VESSEL_COLUMNS = (("Name", 0.38), ("IMO", 0.14), ("Type", 0.26), ("Flag", 0.22))
DOCUMENT_COLUMNS = (("Name", 0.24), ("Type", 0.15), ("Vessel", 0.27), ("Status", 0.12), ("Expires on", 0.22))
APPROVAL_COLUMNS = (("Status", 0.11), ("By", 0.25), ("For", 0.15), ("At", 0.20), ("Comment", 0.29))
ACTIVITY_COLUMNS = (("At", 0.24), ("Actor", 0.26), ("Action", 0.18), ("Detail", 0.32))
FSI, PDI = "\u2068", "\u2069"  # first strong isolate … pop directional isolate


def plain(text: str, base: str = REGULAR) -> bool:
    """Whether the base font draws the text as it is: no shaping, no other font, left to right."""
    return plain_characters(base).issuperset(text)


def isolated(text: str) -> str:
    """User text inside a sentence of ours, isolated when it is not plain (UAX #9 isolates): a name
    written right to left then neither reorders the words around it nor takes their direction."""
    return text if plain(text) else f"{FSI}{text}{PDI}"


def text_flowable(text: str, style: ParagraphStyle, width: float = FRAME_WIDTH) -> Flowable:
    """A line of the report in `width`: plain text as one string when it fits, as a Paragraph when it
    must wrap; anything else laid out for its scripts."""
    if not plain(text, style.fontName):
        return TextBlock(text, style)
    if stringWidth(text, style.fontName, style.fontSize) <= width:
        return PlainLine(text, style)
    return Paragraph(escape(text), style)


class PlainLine(Flowable):
    """Plain text that fits its line, drawn as one string where a Paragraph of it would draw (its
    baseline a font size below its top): what a Paragraph does for it, for much less work."""

    def __init__(self, text: str, style: ParagraphStyle):
        super().__init__()
        self.text, self.style = text, style
        self.spaceBefore, self.spaceAfter = style.spaceBefore, style.spaceAfter

    def wrap(self, availWidth, availHeight):
        return availWidth, self.style.leading

    def draw(self):
        self.canv.setFont(self.style.fontName, self.style.fontSize)
        self.canv.setFillColor(self.style.textColor)
        self.canv.drawString(0, self.style.leading - self.style.fontSize, self.text)


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


def to_cell(value: str | Highlight, width: float) -> str | Flowable:
    """A table draws plain lines many times faster than a Paragraph, so plain text whose words all
    fit the column is wrapped here; plain text with line breaks, tabs or over-long words becomes a
    Paragraph, which splits them; anything else is laid out for its scripts. A highlight's text is
    ours and always fits."""
    if isinstance(value, Highlight):
        return value.text
    text_width, font = width - 2 * CELL_PADDING, loaded(REGULAR)
    single = plain_characters(REGULAR).issuperset(value)  # (a line break is no plain character)
    if single or ("\n\n" not in value and plain(value.replace("\n", ""))):  # simpleSplit drops empty lines
        # Most values are one line that fits: what simpleSplit would return for them unchanged.
        if single and "  " not in value and font.stringWidth(value, CELL.fontSize) <= text_width:
            return value.strip()
        lines = simpleSplit(value, REGULAR, CELL.fontSize, text_width)
        if all(font.stringWidth(line, CELL.fontSize) <= text_width for line in lines):
            return "\n".join(lines)
    if plain(value.replace("\n", " ").replace("\t", " ")):
        return CellParagraph(escape(value).replace("\n", "<br/>"), CELL)
    return TextBlock(value, CELL)


def status_highlight(status: str) -> Highlight:
    return Highlight(status.capitalize(), STATUS_COLOURS[status])


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def human_date(day: date) -> str:
    """A day as people read it, whatever the locale: "15 Jan 2027"."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def parse_time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def human_time(text: str) -> str:
    """An ISO 8601 time as people read it, in UTC: "1 Dec 2026, 19:26 UTC" (a bare date as a day)."""
    moment = parse_time(text)
    if moment is None:
        return text
    if "T" not in text and " " not in text:
        return human_date(moment.date())
    moment = moment.astimezone(UTC) if moment.tzinfo else moment
    return f"{human_date(moment.date())}, {moment.hour:02d}:{moment.minute:02d} UTC"


class Judgement(NamedTuple):
    """The days documents are judged by: the day expiry is checked on, and the operation's day
    (the checked day once the operation is past), as roomsnap.clearance judges them."""

    checked_on: date
    operation_day: date

    @classmethod
    def of(cls, content: ReportContent) -> "Judgement":
        checked_on, operation = content.expiry_checked_on, parse_time(content.room.operation_time)
        if operation is None:
            return cls(checked_on, checked_on)
        operation_day = (operation.astimezone(UTC) if operation.tzinfo else operation).date()
        return cls(checked_on, max(operation_day, checked_on))


def expiry_value(expires_on: date | None, judged: Judgement) -> str | Highlight:
    if expires_on is None:
        return "—"
    if expires_on < judged.checked_on:
        return Highlight(f"{human_date(expires_on)}\nEXPIRED", RED)
    if expires_on < judged.operation_day:
        return Highlight(f"{human_date(expires_on)}\nexpires before\nthe operation", RED)
    if (expires_on - judged.checked_on).days <= EXPIRES_SOON_DAYS:
        return Highlight(f"{human_date(expires_on)}\nexpires soon", AMBER)
    return human_date(expires_on)


class Names:
    """How the report names what rows point at: vessels by name and IMO, documents by name."""

    def __init__(self, content: ReportContent):
        self.vessels = {vessel.imo: vessel.name for vessel in content.vessels}
        self.documents = {document.id: document for document in content.documents or []}

    def vessel(self, imo: str | None) -> str:
        if imo is None:
            return "—"
        return f"{isolated(self.vessels[imo])} (IMO {imo})" if imo in self.vessels else f"IMO {imo}"

    def document_name(self, document_id: str) -> str:
        document = self.documents.get(document_id)
        return document.name if document else "a document not in this snapshot"

    def document(self, document_id: str | None) -> str:
        """A document with its vessel, in a sentence of ours."""
        document = self.documents.get(document_id or "")
        if document is None:
            return "a document not in this snapshot"
        vessel = self.vessels.get(document.vessel_imo or "")
        return f"{isolated(document.name)} of {isolated(vessel)}" if vessel else isolated(document.name)


def party_row(party: PartyLine) -> list:
    return [party.email, party.company, party.role.value.capitalize()]


def vessel_row(vessel: VesselLine) -> list:
    return [vessel.name, vessel.imo, vessel.vessel_type, vessel.flag]


def document_row(document: DocumentLine, judged: Judgement, names: Names) -> list:
    return [
        document.name,
        document.document_type,
        names.vessel(document.vessel_imo),
        status_highlight(document.status.value),
        expiry_value(document.expires_on, judged),
    ]


def approval_row(approval: ApprovalLine, names: Names) -> list:
    by = approval.by if approval.party in (None, approval.by) else f"{approval.party}\nrecorded by {approval.by}"
    subject = "The transfer" if approval.document_id is None else names.document_name(approval.document_id)
    return [status_highlight(approval.status.value), by, subject, human_time(approval.at), approval.comment]


def activity_row(line: ActivityLine) -> list:
    return [human_time(line.at), line.actor, line.action, line.detail]


class SectionTitle(Flowable):
    """A section's title as the first cell of its table, drawn across the row (a spanning cell
    would make the table recompute its spans over every row on each page it splits at)."""

    def __init__(self, title: str):
        super().__init__()
        self.title = title

    SPACE_ABOVE, SPACE_BELOW = 12, 4

    def wrap(self, availWidth, availHeight):  # the cell's padding (3 above, 3 below) is part of the spacing
        return availWidth, self.SPACE_ABOVE + HEADING.leading + self.SPACE_BELOW - 6

    def draw(self):  # from the cell's left edge, not its padded one
        self.canv.setFont(HEADING.fontName, HEADING.fontSize)
        self.canv.drawString(-CELL_PADDING, self.SPACE_BELOW - 3 + HEADING.leading - HEADING.fontSize, self.title)


class SectionTable(Table):
    """A table whose repeated first row is its section's title: where the table continues on a new
    page, that row says "… (continued)" (ReportLab repeats header rows as they are)."""

    def split(self, availWidth, availHeight):
        parts = super().split(availWidth, availHeight)
        for part in parts[1:]:
            row = part._cellvalues[0]  # shared with the first part: replaced, not changed
            title = row[0][0] if isinstance(row[0], tuple) else row[0]  # a cell's flowables may be a tuple
            if not title.title.endswith(" (continued)"):
                part._cellvalues[0] = [SectionTitle(f"{title.title.rpartition(' (')[0]} (continued)"), *row[1:]]
        return parts


def section(title: str, rows: list[list[str | Highlight]], columns: tuple[tuple[str, float], ...]) -> list:
    heading = f"{title} ({len(rows)})"
    if not rows:
        empty = ParagraphStyle("empty-heading", parent=HEADING, spaceBefore=12, spaceAfter=4)
        return [
            CondPageBreak(HEADING_MIN_SPACE),
            Paragraph(heading, empty),
            Paragraph(f"No {title.lower()} recorded.", BODY),
        ]
    widths = [share * FRAME_WIDTH for _, share in columns]
    cells: list[list] = [[SectionTitle(heading), *[""] * (len(columns) - 1)], [name for name, _ in columns]]
    highlights: dict[int, list[tuple[int, Color]]] = {}  # column -> (row, colour) of its highlighted cells
    for y, row in enumerate(rows, start=FIRST_ROW):
        cells.append([to_cell(value, width) for value, width in zip(row, widths, strict=False)])
        for x, value in enumerate(row):
            if isinstance(value, Highlight):
                highlights.setdefault(x, []).append((y, value.colour))
    table = SectionTable(cells, colWidths=widths, repeatRows=FIRST_ROW, splitInRow=MIN_ROW_PIECE, style=TABLE_STYLE)
    table.setStyle(highlight_styles(highlights))
    return [CondPageBreak(HEADING_MIN_SPACE), table]


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


# ------------------------------------------------------------------------------------ page 1


def blocker_line(blocker: Blocker, names: Names) -> str:
    """One blocker as a person reads it, naming the document (and its vessel) or the approver."""
    day = human_time(blocker.date) if blocker.date else None
    document = names.document(blocker.id)
    match blocker.kind:
        case BlockerKind.EXPIRED:
            return f"Expired: {document}" + (f", on {day}" if day else "")
        case BlockerKind.EXPIRES_BEFORE_OPERATION:
            return f"Expires before the operation: {document}, valid until {day}"
        case BlockerKind.MISSING:
            return f"Missing: {document}"
        case BlockerKind.NOT_APPROVED:
            return f"Not approved: {document}, status {blocker.status}"
        case BlockerKind.REJECTED_APPROVAL:
            return f"Rejected by {isolated(blocker.name)} on {day}"
        case BlockerKind.PENDING_APPROVAL:
            return f"Approval pending from {isolated(blocker.name)} since {day}"
    return "No approval recorded"


def verdict(content: ReportContent, clearance: Clearance) -> list:
    """The boxed verdict that opens page 1: cleared or not, against what, and every blocker named."""
    names = Names(content)
    judged = Judgement.of(content)
    against = (
        f"Judged on {human_date(judged.checked_on)} against the operation on "
        f"{isolated(human_time(content.room.operation_time))}."
    )
    if clearance.status is ClearanceStatus.CLEARED:
        colour, headline = GREEN, "CLEARED"
        lines = ["No document or approval recorded here blocks the transfer.", against]
    elif clearance.status is ClearanceStatus.NOT_CLEARED:
        colour, headline = RED, "NOT CLEARED"
        count = len(clearance.blockers)
        lines = [f"{count} {'thing blocks' if count == 1 else 'things block'} the transfer. {against}"]
        lines += [f"• {blocker_line(blocker, names)}" for blocker in clearance.blockers[:VERDICT_LINES]]
        if count > VERDICT_LINES:
            lines.append(f"… and {count - VERDICT_LINES} more: the Documents and Approvals sections list them all.")
    else:
        colour, headline = GREY, "NOT ASSESSED"
        lines = ["This snapshot leaves out documents or approvals, so it cannot say whether the transfer is cleared."]
    headline_style = ParagraphStyle("verdict", fontName=BOLD, fontSize=14, leading=18, textColor=colour)
    line_style = ParagraphStyle("verdict-line", parent=META, leading=12.5)
    box = Table(
        [
            [
                [
                    PlainLine(headline, headline_style),
                    *(text_flowable(line, line_style, FRAME_WIDTH - 16) for line in lines),
                ]
            ]
        ],
        colWidths=[FRAME_WIDTH],
        style=[
            ("BOX", (0, 0), (-1, -1), 1.5, colour),
            ("BACKGROUND", (0, 0), (-1, -1), TINTS[colour]),
            ("LEFTPADDING", (0, 0), (-1, -1), 8),
            ("RIGHTPADDING", (0, 0), (-1, -1), 8),
            ("TOPPADDING", (0, 0), (-1, -1), 6),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 8),
        ],
    )
    return [box, Spacer(0, 8)]


def header(content: ReportContent) -> list:
    room = content.room
    return [
        text_flowable(content.title, TITLE),
        text_flowable(room.title, SUBTITLE),
        text_flowable(f"Location: {isolated(room.location)}", META),
        text_flowable(f"Operation time: {isolated(human_time(room.operation_time))}", META),
        text_flowable(
            f"Data as of {isolated(human_time(room.data_as_of))} · Expiry checked on "
            f"{human_date(content.expiry_checked_on)}",
            META,
        ),
        Spacer(0, 4),
    ]


def summary(content: ReportContent, clearance: Clearance) -> list:
    """How the documents and approvals stand, what expires soon (not yet a blocker), and which
    characters no font could draw."""
    lines = []
    if content.documents is not None:
        statuses = Counter(document.status.value for document in content.documents)
        lines.append(
            "Documents: " + (", ".join(f"{n} {status}" for status, n in sorted(statuses.items())) or "none recorded")
        )
        blocked = {blocker.id for blocker in clearance.blockers if blocker.item == "document"}
        checked_on, names = content.expiry_checked_on, Names(content)
        soon = [
            document
            for document in content.documents
            if document.id not in blocked
            and document.expires_on is not None
            and 0 <= (document.expires_on - checked_on).days <= EXPIRES_SOON_DAYS
        ]
        if soon:
            named = [f"{names.document(d.id)} ({human_date(d.expires_on)})" for d in soon if d.expires_on]
            lines.append(f"Expiring within {EXPIRES_SOON_DAYS} days: " + ", ".join(named))
    if content.approvals is not None:
        approvals = Counter(approval.status.value for approval in content.approvals)
        lines.append("Approvals: " + ", ".join(f"{approvals[s]} {s}" for s in ("pending", "approved", "rejected")))
    missing = sorted(set().union(*(unprintable(text, REGULAR) for text in printed_texts(content) if not plain(text))))
    if missing:
        lines.append(
            "Shown by code point, as no font here can draw them: " + ", ".join(placeholder(ch) for ch in missing) + "."
        )
    return [*(text_flowable(line, META) for line in lines), Spacer(0, 4)]


def printed_texts(content: ReportContent) -> list[str]:
    """Every string of user text the report prints."""
    lines = [
        content.room,
        *content.parties,
        *content.vessels,
        *(content.documents or []),
        *(content.approvals or []),
        *(content.activity or []),
    ]
    return [content.title, *(value for line in lines for value in vars(line).values() if isinstance(value, str))]


# ------------------------------------------------------------------------------------ every page


class PageFurniture(NamedTuple):
    """What every page shows above and below its body."""

    heading: str  # the room's and the snapshot's titles
    footer: tuple[str, str]  # room id and data as of; the content hash
    verify_at: str  # where to have the PDF verified ("" when the deployment names no page)
    created: datetime | None  # data as of: the PDF's creation date


class ReportCanvas(Canvas):
    """Holds every page back until the last one is laid out, then draws the running header with
    "Page N of M" and the footer on each; dates the PDF by the data it shows."""

    def __init__(self, *args, furniture: PageFurniture, **kwargs):
        super().__init__(*args, **kwargs)
        self.furniture = furniture
        self._held_pages: list[dict] = []
        if furniture.created is not None:
            created = furniture.created.astimezone(UTC) if furniture.created.tzinfo else furniture.created
            self.setDateFormatter(lambda *_: f"D:{created:%Y%m%d%H%M%S}+00'00'")

    def showPage(self):
        self._held_pages.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        page_count = len(self._held_pages)
        top, bottom, left, right = A4[1] - PAGE_MARGIN, PAGE_MARGIN, BODY_LEFT, A4[0] - BODY_LEFT
        heading, footer = None, self.furniture.footer
        for page in self._held_pages:
            self.__dict__.update(page)
            numbering = f"Page {self._pageNumber} of {page_count}"
            if heading is None:  # the widest numbering comes last: leave room for it on every page
                numbering_width = stringWidth(f"Page {page_count} of {page_count}", REGULAR, FURNITURE_SIZE)
                heading = first_line(
                    self.furniture.heading, REGULAR, FURNITURE_SIZE, FRAME_WIDTH - numbering_width - 12
                )
            draw_line(self, heading, left, top, FURNITURE_SIZE, GREY)
            self.setFont(REGULAR, FURNITURE_SIZE)
            self.setFillColor(GREY)
            self.drawRightString(right, top, numbering)
            self.setStrokeColor(RULE)
            self.setLineWidth(0.5)
            self.line(left, top - 4, right, top - 4)
            self.line(left, bottom + 18, right, bottom + 18)
            self.drawString(left, bottom + 9, footer[0])
            self.drawString(left, bottom, footer[1])
            if self.furniture.verify_at:
                self.drawRightString(right, bottom + 9, self.furniture.verify_at)
            super().showPage()
        super().save()


def furniture(content: ReportContent) -> PageFurniture:
    room = content.room
    digest = content_hash(content, TEMPLATE_VERSION, LIBRARY_VERSION)
    return PageFurniture(
        heading=f"{isolated(room.title)} · {isolated(content.title)}",
        footer=(valid(f"Room {room.id} · Data as of {human_time(room.data_as_of)}"), f"Content SHA-256 {digest}"),
        verify_at=valid(f"Verify this file: {content.verify_url}") if content.verify_url else "",
        created=parse_time(room.data_as_of),
    )


def render_report(content: ReportContent) -> bytes:
    """The report as PDF bytes, identical for identical content, whatever text it holds."""
    load_fonts()
    clearance = printed_clearance(content)
    names, judged = Names(content), Judgement.of(content)
    story = verdict(content, clearance) + header(content) + summary(content, clearance)
    story += section("Parties", [party_row(party) for party in content.parties], PARTY_COLUMNS)
    story += section("Vessels", [vessel_row(vessel) for vessel in content.vessels], VESSEL_COLUMNS)
    if content.documents is not None:
        rows = [document_row(document, judged, names) for document in content.documents]
        story += section("Documents", rows, DOCUMENT_COLUMNS)
    if content.approvals is not None:
        rows = [approval_row(approval, names) for approval in content.approvals]
        story += section("Approvals", rows, APPROVAL_COLUMNS)
    if content.activity is not None:
        story += section("Activity", [activity_row(line) for line in content.activity], ACTIVITY_COLUMNS)

    buffer = BytesIO()
    pdf = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=PAGE_MARGIN,
        rightMargin=PAGE_MARGIN,
        topMargin=PAGE_MARGIN + HEADER_SPACE,
        bottomMargin=PAGE_MARGIN + FOOTER_SPACE,
        title=valid(content.title),
        subject=valid(f"Room snapshot of {content.room.title}"),
        author=AUTHOR,
        creator=AUTHOR,
        invariant=1,
    )
    pdf.build(story, canvasmaker=partial(ReportCanvas, furniture=furniture(content)))
    return buffer.getvalue()
