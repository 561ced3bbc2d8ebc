"""Lays out user text in any script as lines of shaped glyphs, and draws them.

A paragraph goes through the steps a text engine takes (Unicode's bidi algorithm, UAX #9, and
HarfBuzz's shaping): the embedding level of each character (python-bidi); runs of one font and one
level (`typefaces.font_for`), shaped by HarfBuzz with the whole paragraph as context, so Arabic
joins, Devanagari forms conjuncts, marks sit on their letters and emoji sequences become one glyph;
lines broken in logical order at spaces and between CJK characters; then each line's pieces put in
visual order (UAX #9 rule L2), an RTL paragraph aligned right. A character that no font draws
becomes a boxed placeholder that names its code point.

The pieces of a line are written to the PDF in logical order, each at its place on the line, and
a right-to-left piece's glyphs left to right: text extractors (pypdf among them) read a PDF's text
in the order it is written and turn runs of right-to-left characters around, so what they give
back is the text as typed. A right-to-left piece's trailing spaces are written as a piece of their
own after it, or such an extractor would put them in front.

Plain text (what the base font draws without shaping) never comes here: report.py prints it with
ReportLab's plain strings and Paragraphs, which are faster.
"""

import re
import unicodedata
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field, replace
from functools import cache
from itertools import accumulate

import uharfbuzz
from bidi import get_base_level, get_display
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfbase.ttfonts import ShapeData, ShapedStr
from reportlab.platypus.flowables import Flowable

from renderer.typefaces import EMOJI, EMOJI_PRESENTATION, REGULAR, font_for, loaded, maps, plain_characters

LINE_BREAKS = re.compile(r"\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
RIGHT_TO_LEFT = frozenset(("R", "AL", "RLE", "RLO", "RLI"))  # what can make a level odd
NO_BREAK_SPACES = frozenset("\u00a0\u2007\u202f")
# Kinsoku: CJK punctuation that never starts a line, and that never ends one.
NO_LINE_START = frozenset(
    "、。，．・：；？！ー）」』】〕〉》〙〗〟’”）］｝〜ゝゞヽヾぁぃぅぇぉっゃゅょァィゥェォッャュョ!%),.:;?]}"
)
NO_LINE_END = frozenset("（「『【〔〈《〘〖〝‘“（［｛([{")
PLACEHOLDER_SIZE = 0.6  # a placeholder's label, relative to the text size
PLACEHOLDER_PAD = 0.15  # its box's padding, relative to the text size
ELLIPSIS = "…"
ZERO_WIDTH_JOINER, KEYCAP = "\u200d", "\u20e3"


@cache
def invisible(ch: str) -> bool:
    """Characters that steer shaping or direction and draw nothing: joiners, direction marks and
    isolates, variation selectors, soft hyphens, tags."""
    code = ord(ch)
    return unicodedata.category(ch) == "Cf" or 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF or code == 0x34F


@cache
def joins_previous(ch: str) -> bool:
    """Characters that belong to the character before them (marks, emoji modifiers, keycaps),
    which stay in its font when it has them."""
    return unicodedata.category(ch)[0] == "M" or invisible(ch) or 0x1F3FB <= ord(ch) <= 0x1F3FF


@cache
def breaking_space(ch: str) -> bool:
    return ch not in NO_BREAK_SPACES and (ch == " " or unicodedata.category(ch) == "Zs")


@cache
def wide(ch: str) -> bool:
    """East Asian wide characters (CJK, kana, Hangul, most emoji): a line may break between them."""
    return unicodedata.east_asian_width(ch) in ("W", "F")


def unprintable(text: str, base: str) -> set[str]:
    """The characters of `text` that no report font draws (printed as placeholders)."""
    return {
        ch
        for ch in set(text)
        if ch not in "\t\n\r" and not invisible(ch) and not breaking_space(ch) and font_for(ch, base) is None
    }


def valid(text: str) -> str:
    """The text with each lone surrogate (which no encoding can write) as U+FFFD."""
    return "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text)


def placeholder(ch: str) -> str:
    return f"U+{ord(ch):04X}"


# ---------------------------------------------------------------------------------------- bidi


def bidi_levels(text: str) -> tuple[list[int] | None, bool]:
    """Each character's embedding level and whether the paragraph runs right to left; None for the
    levels of text with nothing that could run right to left (all level 0).

    python-bidi wraps the unicode-bidi crate (UAX #9 in full, isolates and brackets included) but
    answers with a reordered string only; its debug answer, a dump of the crate's BidiInfo, holds
    the levels, one per UTF-8 byte of the text. The dump quotes the text on its first line with
    line breaks escaped, so what follows that line is the crate's own."""
    if not any(unicodedata.bidirectional(ch) in RIGHT_TO_LEFT for ch in text):
        return None, False
    dump = get_display(valid(text), debug=True).split("\n")
    start = dump.index("    levels: [")
    end = dump.index("    ],", start)
    byte_levels = [int(line.strip(" ,")) for line in dump[start + 1 : end] if line.strip(" ,").isdigit()]
    offsets = accumulate((len(ch.encode()) for ch in valid(text)), initial=0)
    levels = [byte_levels[offset] for offset, _ in zip(offsets, text, strict=False)]
    return levels, get_base_level(valid(text)) == 1


def visual_order(levels: list[int]) -> list[int]:
    """UAX #9 rule L2: the indices of items at these levels, left to right."""
    order = list(range(len(levels)))
    odd = [level for level in levels if level % 2]
    if not odd:
        return order
    for level in range(max(levels), min(odd) - 1, -1):
        index = 0
        while index < len(order):
            if levels[order[index]] >= level:
                end = index
                while end < len(order) and levels[order[end]] >= level:
                    end += 1
                order[index:end] = order[index:end][::-1]
                index = end
            else:
                index += 1
    return order


# ---------------------------------------------------------------------------------------- runs


@dataclass
class Run:
    """Characters [start, end) of a paragraph in one font at one level; font None: a placeholder."""

    start: int
    end: int
    font: str | None
    level: int
    glyphs: list[int] = field(default_factory=list)  # shaped, left to right
    clusters: list[int] = field(default_factory=list)  # the first character of each glyph's cluster
    advances: list[float] = field(default_factory=list)  # points
    offsets: list[tuple[float, float, float]] = field(default_factory=list)  # x advance, x and y offsets, 1/1000 em
    cluster_starts: list[int] = field(default_factory=list)  # sorted
    falling: list[int] = field(default_factory=list)  # the clusters negated, rising in a right-to-left run

    def glyph_indices(self, start: int, end: int) -> range:
        """The glyphs of characters [start, end), cluster boundaries: HarfBuzz keeps clusters
        monotonic, rising left to right, falling in a right-to-left run."""
        if self.level % 2:
            falling = self.falling or [-cluster for cluster in self.clusters]
            self.falling = falling
            return range(bisect_right(falling, -end), bisect_right(falling, -start))
        return range(bisect_left(self.clusters, start), bisect_left(self.clusters, end))

    def clusters_in(self, start: int, end: int) -> list[tuple[int, int]]:
        """The clusters of characters [start, end), as [first, end) ranges, in logical order."""
        starts = self.cluster_starts[bisect_left(self.cluster_starts, start) : bisect_left(self.cluster_starts, end)]
        return list(zip(starts, [*starts[1:], end], strict=True))


def itemize(text: str, base: str, levels: list[int] | None) -> list[Run]:
    """Runs of one font and one level. A mark or joiner stays in the font of what it follows when
    that font has it (a mark on its letter, an emoji sequence in one font), and so does a space,
    unless it follows an emoji (whose spaces are wide); pictographs and characters that an emoji
    sequence follows ask for the emoji font."""
    runs: list[Run] = []
    previous: str | None = None
    for index, ch in enumerate(text):
        level = levels[index] if levels else 0
        if previous and joins_previous(ch) and (invisible(ch) or maps(previous, ch)):
            font: str | None = previous
        elif previous and breaking_space(ch) and previous != EMOJI[base] and maps(previous, ch):
            font = previous
        elif invisible(ch):
            font = previous or base
        else:
            font = font_for(ch, base, wants_emoji(text, index))
        if runs and font is not None and runs[-1].font == font and runs[-1].level == level:
            runs[-1].end = index + 1
        else:
            runs.append(Run(index, index + 1, font, level))
        previous = font
    return runs


def wants_emoji(text: str, index: int) -> bool:
    """Pictographs (emoji by default), and any character that VS16, a joiner, a keycap or a skin
    tone follows."""
    following = text[index + 1 : index + 2]
    return (
        0x1F000 <= ord(text[index]) <= 0x1FAFF
        or following in (EMOJI_PRESENTATION, ZERO_WIDTH_JOINER, KEYCAP)
        or (following != "" and 0x1F3FB <= ord(following) <= 0x1F3FF)
    )


def shape(codepoints: list[int], run: Run, size: float) -> None:
    """Fills in the run's glyphs with HarfBuzz, the whole paragraph as context."""
    font = loaded(run.font)
    buffer = uharfbuzz.Buffer()
    buffer.add_codepoints(codepoints, run.start, run.end - run.start)
    buffer.direction = "rtl" if run.level % 2 else "ltr"
    buffer.guess_segment_properties()
    uharfbuzz.shape(font.hb, buffer)
    scale = size / font.units_per_em
    for info, position in zip(buffer.glyph_infos, buffer.glyph_positions, strict=True):
        run.glyphs.append(info.codepoint)
        run.clusters.append(info.cluster)
        run.advances.append(position.x_advance * scale)
        run.offsets.append(
            (
                font.thousandths(position.x_advance),
                font.thousandths(position.x_offset),
                font.thousandths(position.y_offset),
            )
        )


# ---------------------------------------------------------------------------------------- lines


@dataclass(frozen=True)
class Piece:
    """What one text operation draws: glyph keys in one font (a ShapedStr), or a placeholder's label."""

    font: str | None  # None: a placeholder
    text: str
    width: float
    level: int
    x: float = 0.0  # from the line's left end


@dataclass(frozen=True)
class Line:
    pieces: tuple[Piece, ...]  # in logical order, each at its place
    width: float
    rtl: bool  # of a right-to-left paragraph: aligned right
    start: int = 0  # the characters [start, end) of the text laid out that the line holds
    end: int = 0


def lay_out(text: str, base: str, size: float, width: float) -> list[Line]:
    """The lines of `text` in the base font's chain at `size`, broken to fit `width`."""
    lines, start = [], 0
    for separator in [*LINE_BREAKS.finditer(text), None]:
        end = separator.start() if separator else len(text)
        lines += [
            replace(line, start=line.start + start, end=line.end + start)
            for line in paragraph_lines(text[start:end], base, size, width)
        ]
        start = separator.end() if separator else end
    return lines


def paragraph_lines(text: str, base: str, size: float, width: float) -> list[Line]:
    text = text.replace("\t", " ")
    if not text:
        return [Line((), 0.0, False)]
    levels, rtl = bidi_levels(text)
    runs = itemize(text, base, levels)
    codepoints = [ord(ch) for ch in valid(text)]
    advances = [0.0] * len(text)
    starts = [False] * len(text)  # where a cluster starts: the only places a line may break
    for run in runs:
        if run.font is None:  # a placeholder: its label in a box
            label = placeholder(text[run.start])
            run.clusters, run.advances = [run.start], [stringWidth(label, REGULAR, size * PLACEHOLDER_SIZE)]
            run.advances[0] += 3 * size * PLACEHOLDER_PAD
        else:
            shape(codepoints, run, size)
        run.cluster_starts = sorted(set(run.clusters))
        for cluster, advance in zip(run.clusters, run.advances, strict=True):
            advances[cluster] += advance
            starts[cluster] = True
    return [build_line(text, runs, start, end, rtl) for start, end in break_lines(text, advances, starts, width)]


def break_opportunity(text: str, index: int) -> bool:
    before, after = text[index - 1], text[index]
    if breaking_space(before):
        return not breaking_space(after)
    return (wide(before) or wide(after)) and after not in NO_LINE_START and before not in NO_LINE_END


def break_lines(text: str, advances: list[float], starts: list[bool], width: float) -> list[tuple[int, int]]:
    """Greedy line breaking in logical order: [start, end) of each line, its trailing spaces
    included (they are not drawn). A word longer than a line is cut between clusters."""
    breaks = [index for index in range(1, len(text)) if starts[index] and break_opportunity(text, index)]
    lines: list[tuple[int, int]] = []
    line_start, line_width = 0, 0.0
    for start, end in zip([0, *breaks], [*breaks, len(text)], strict=True):
        visible_end = end
        while visible_end > start and breaking_space(text[visible_end - 1]):
            visible_end -= 1
        word = sum(advances[start:visible_end])
        if start > line_start and line_width + word > width:  # the word goes to a new line
            lines.append((line_start, start))
            line_start, line_width = start, 0.0
        if line_width + word > width:  # alone on its line and still too wide: cut between clusters
            for index in range(start, visible_end):
                if starts[index] and index > line_start and line_width + advances[index] > width:
                    lines.append((line_start, index))
                    line_start, line_width = index, 0.0
                line_width += advances[index]
            line_width += sum(advances[visible_end:end])
        else:
            line_width += sum(advances[start:end])
    lines.append((line_start, len(text)))
    return lines


@cache
def direction(ch: str) -> str | None:
    """ "ltr" or "rtl" for strongly directional characters (digits count as left to right), else None."""
    return {"L": "ltr", "EN": "ltr", "R": "rtl", "AL": "rtl"}.get(unicodedata.bidirectional(ch))


def build_line(text: str, runs: list[Run], start: int, end: int, rtl: bool) -> Line:
    """The line of characters [start, end): its pieces in logical order, each at its place. After
    right-to-left text, characters without a direction of their own go one piece each until a
    left-to-right one (see the module's docstring)."""
    while end > start and breaking_space(text[end - 1]):
        end -= 1
    pieces: list[Piece] = []
    after_rtl = False  # the last directional character written runs right to left
    for run in runs:
        if run.end <= start or run.start >= end:
            continue
        if run.font is None:
            pieces.append(Piece(None, placeholder(text[run.start]), run.advances[0], run.level))
            after_rtl = False  # the label is Latin
            continue
        first, last = max(run.start, start), min(run.end, end)
        clusters = run.clusters_in(first, last)
        groups: list[tuple[int, int]] = []
        if run.level % 2:  # its trailing undirected characters written after it, one by one
            core = clusters
            while core and direction(text[core[-1][0]]) is None:
                core = core[:-1]
            groups = ([(core[0][0], core[-1][1])] if core else []) + clusters[len(core) :]
            after_rtl = after_rtl or bool(core)
        else:
            lead = 0
            while after_rtl and lead < len(clusters) and direction(text[clusters[lead][0]]) is None:
                lead += 1
            groups = clusters[:lead] + ([(clusters[lead][0], last)] if lead < len(clusters) else [])
            after_rtl = after_rtl and lead == len(clusters)
        pieces += [glyph_piece(text, run, first_char, end_char) for first_char, end_char in groups]
    x, placed = 0.0, {}
    for index in visual_order([piece.level for piece in pieces]):
        placed[index] = x
        x += pieces[index].width
    return Line(tuple(_at(piece, placed[index]) for index, piece in enumerate(pieces)), x, rtl, start, end)


def _at(piece: Piece, x: float) -> Piece:
    return Piece(piece.font, piece.text, piece.width, piece.level, x)


def glyph_piece(text: str, run: Run, start: int, end: int) -> Piece:
    """The run's glyphs of characters [start, end) as keys of its font. A cluster's text goes with
    its first glyph (the others stand for nothing), so its characters come out once, in order."""
    if start >= end:
        return Piece(run.font, "", 0.0, run.level)
    font = loaded(run.font)
    cluster_end = dict(run.clusters_in(start, end))
    keys, data, width, seen = [], [], 0.0, set()
    for index in run.glyph_indices(start, end):
        cluster, glyph = run.clusters[index], run.glyphs[index]
        cluster_text = "" if cluster in seen else text[cluster : cluster_end[cluster]]
        if all(map(invisible, cluster_text)):  # nothing visible to give back (an isolate, a direction mark)
            cluster_text = ""
        seen.add(cluster)
        key = font.key(glyph, cluster_text)
        x_advance, x_offset, y_offset = run.offsets[index]
        keys.append(chr(key))
        data.append(ShapeData(cluster, x_advance, 0, x_offset, y_offset, font.face.charWidths[key]))
        width += run.advances[index]
    return Piece(run.font, ShapedStr("".join(keys), shapeData=data), width, run.level)


def first_line(text: str, base: str, size: float, width: float) -> Line:
    """The text on one line of `width`, ending in an ellipsis when it does not fit."""
    if plain_characters(base).issuperset(text):  # no shaping: the base font's own widths
        label = text
        if stringWidth(text, base, size) > width:
            while label and stringWidth(label + ELLIPSIS, base, size) > width:
                label = label[:-1]
            label = label.rstrip() + ELLIPSIS
        label_width = stringWidth(label, base, size)
        return Line((Piece(base, label, label_width, 0),), label_width, False)
    lines = lay_out(text, base, size, width)
    if len(lines) == 1:
        return lines[0]
    ellipsis_width = stringWidth(ELLIPSIS, base, size)
    line = lay_out(text, base, size, width - ellipsis_width)[0]
    ellipsis = Piece(base, ELLIPSIS, ellipsis_width, 1 if line.rtl else 0)
    if line.rtl:
        shifted = tuple(_at(piece, piece.x + ellipsis_width) for piece in line.pieces)
        return replace(line, pieces=(*shifted, _at(ellipsis, 0.0)), width=line.width + ellipsis_width)
    return replace(line, pieces=(*line.pieces, _at(ellipsis, line.width)), width=line.width + ellipsis_width)


# ---------------------------------------------------------------------------------------- drawing


def draw_line(canvas, line: Line, x: float, y: float, size: float, colour) -> None:
    """The line's pieces with their left end at x and their baseline at y, in logical order."""
    text = canvas.beginText()
    text.setFillColor(colour)
    boxes = []
    for piece in line.pieces:
        if piece.font is None:
            pad = size * PLACEHOLDER_PAD
            boxes.append((x + piece.x + pad / 2, y - pad, piece.width - pad, size * PLACEHOLDER_SIZE + 2 * pad))
            text.setTextOrigin(x + piece.x + 1.5 * pad, y)
            text.setFont(REGULAR, size * PLACEHOLDER_SIZE)
        else:
            text.setTextOrigin(x + piece.x, y)
            text.setFont(piece.font, size)
        text.textOut(piece.text)
    canvas.drawText(text)
    if boxes:
        canvas.saveState()
        canvas.setStrokeColor(colour)
        canvas.setLineWidth(0.4)
        for box in boxes:
            canvas.rect(*box)
        canvas.restoreState()


class TextBlock(Flowable):
    """User text in any script as a flowable, in a ParagraphStyle's size, leading and colour (its
    font name picks the chain). Laid out once per width: a table measures its cells many times.
    Each part of a split holds the text of its own lines, as a split Paragraph holds its words."""

    def __init__(self, text: str, style, lines: list[Line] | None = None, width: float | None = None):
        super().__init__()
        self.text, self.style = text, style
        self.lines: list[Line] = lines or []
        self.laid_out_width = -1.0 if width is None else width  # -1: not laid out yet
        self.spaceBefore, self.spaceAfter = style.spaceBefore, style.spaceAfter

    def wrap(self, availWidth, availHeight):
        if abs(self.laid_out_width - availWidth) > 1e-6:
            self.lines = lay_out(self.text, self.style.fontName, self.style.fontSize, availWidth)
            self.laid_out_width = availWidth
        self.width, self.height = availWidth, len(self.lines) * self.style.leading
        return self.width, self.height

    def split(self, availWidth, availHeight):
        # A table passes a cell's whole width here, not the padded width it wrapped the cell in,
        # so the lines of that wrap are split as they are (as a Paragraph splits its own layout).
        if self.laid_out_width < 0:
            self.wrap(availWidth, availHeight)
        fit = int(availHeight // self.style.leading)
        if not 1 <= fit < len(self.lines):
            return []
        return [self._part(self.lines[:fit]), self._part(self.lines[fit:])]

    def _part(self, lines: list[Line]) -> "TextBlock":
        start, end = lines[0].start, lines[-1].end
        moved = [replace(line, start=line.start - start, end=line.end - start) for line in lines]
        return TextBlock(self.text[start:end], self.style, moved, self.laid_out_width)

    def draw(self):
        style = self.style
        for number, line in enumerate(self.lines):
            x = self.width - line.width if line.rtl else 0.0
            y = self.height - style.fontSize - number * style.leading
            draw_line(self.canv, line, x, y, style.fontSize, style.textColor)
