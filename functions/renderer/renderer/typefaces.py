"""The report's fonts: which one draws a character, loaded only when a report needs it.

Every style has a chain of Noto fonts (fonts/README.md names their sources and licences); a
character is drawn in the first font of the chain that maps it. Which font maps which character is
read from `fonts/coverage.json` (written by scripts/build_fonts.py), so that choosing a font loads
none: the large CJK fonts are parsed only when a room prints CJK text, which keeps them out of the
renderer's cold start.

Shaped text draws glyphs that no character maps to (Arabic joining forms, ligatures, conjuncts,
emoji sequences). ReportLab addresses a glyph in a PDF font subset by a character code, so such
glyphs get private code points of their own (`ReportFont.key`), and the subset's ToUnicode map says
which text each one stands for, so that copying or extracting the text gives the characters typed.
ReportLab's own ToUnicode map also writes characters beyond the BMP (emoji) as invalid UTF-16;
ours encodes them properly.
"""

import json
import unicodedata
from bisect import bisect_right
from functools import cache, cached_property
from pathlib import Path

import uharfbuzz
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import SUBSETN, TTFont

FONTS_DIR = Path(__file__).parent / "fonts"

REGULAR_CHAIN = (
    "NotoSans-Regular",  # Latin (Turkish, Norwegian …), Greek, Cyrillic
    "NotoSansArabic-Regular",
    "NotoSansHebrew-Regular",
    "NotoSansDevanagari-Regular",
    "NotoSansThai-Regular",
    "NotoSansCJKsc-Regular",  # Chinese, Japanese, Korean
    "NotoSansSymbols-Regular",
    "NotoSansSymbols2-Regular",
    "NotoSansMath-Regular",
    "NotoEmoji-Regular",
)
BOLD_CHAIN = (
    "NotoSans-Bold",
    "NotoSansArabic-Bold",
    "NotoSansHebrew-Bold",
    "NotoSansDevanagari-Bold",
    "NotoSansThai-Bold",
    "NotoSansCJKsc-Bold",
    "NotoSansSymbols-Bold",
    "NotoSansSymbols2-Regular",  # no bold is made of these two: symbols keep their one weight
    "NotoSansMath-Regular",
    "NotoEmoji-Bold",
)
REGULAR, BOLD = REGULAR_CHAIN[0], BOLD_CHAIN[0]
CHAINS = {REGULAR: REGULAR_CHAIN, BOLD: BOLD_CHAIN}
EMOJI = {REGULAR: REGULAR_CHAIN[-1], BOLD: BOLD_CHAIN[-1]}
EMOJI_PRESENTATION = "\ufe0f"  # after a character: draw it as an emoji
# Private code points that stand for glyphs no character maps to (plane 15, which none of the
# fonts maps, so a user's own private-use characters never reach one of these keys).
FIRST_KEY = 0xF0000

_COVERAGE: dict[str, list[list[int]]] = json.loads((FONTS_DIR / "coverage.json").read_text())
_STARTS = {name: [first for first, _ in ranges] for name, ranges in _COVERAGE.items()}


def maps(name: str, ch: str) -> bool:
    """Whether the font `name` has a glyph for the character (without loading the font)."""
    code, ranges = ord(ch), _COVERAGE[name]
    index = bisect_right(_STARTS[name], code) - 1
    return index >= 0 and ranges[index][1] >= code


@cache
def font_for(ch: str, base: str, emoji: bool = False) -> str | None:
    """The first font of the base font's chain that draws `ch` (the emoji font first when the
    character asks for emoji presentation), None when no report font has it."""
    if unicodedata.category(ch) == "Cc":  # controls print as placeholders, whatever a font maps
        return None
    chain = CHAINS[base]
    if emoji and maps(EMOJI[base], ch):
        return EMOJI[base]
    return next((name for name in chain if maps(name, ch)), None)


@cache
def plain_characters(name: str) -> frozenset[str]:
    """What the font draws without shaping: the characters it maps, less combining marks, format
    characters (joiners, direction marks) and controls, and anything written right to left."""
    return frozenset(
        ch
        for first, last in _COVERAGE[name]
        for ch in map(chr, range(first, last + 1))
        if unicodedata.category(ch)[0] not in "MC" and unicodedata.bidirectional(ch) not in ("R", "AL", "AN")
    )


class ReportFont(TTFont):
    """A report font as ReportLab registers it, with a HarfBuzz font of the same file and keys
    for the glyphs that shaping draws."""

    def __init__(self, name: str):
        super().__init__(name, str(FONTS_DIR / f"{name}.ttf"))
        self.units_per_em = self.face.unitsPerEm
        self.nominal = dict(self.face.charToGlyph)  # the font's own character map
        self.texts: dict[int, str] = {}  # key -> the text its glyph stands for
        self._keys: dict[tuple[int, str], int] = {}

    @cached_property
    def hb(self) -> uharfbuzz.Font:
        """The HarfBuzz font, made when a text first needs shaping (plain text never does)."""
        return uharfbuzz.Font(self.hbFace)  # (ReportLab's HarfBuzz face of the font's bytes)

    def key(self, glyph: int, text: str) -> int:
        """The code by which ReportLab draws `glyph` standing for `text`: the character itself when
        it is the glyph the font maps it to, otherwise a private code point kept for that pair."""
        if len(text) == 1 and self.nominal.get(ord(text)) == glyph:
            return ord(text)
        key = self._keys.get((glyph, text))
        if key is None:
            key = self._keys[(glyph, text)] = FIRST_KEY + len(self._keys)
            self.face.charToGlyph[key] = glyph
            self.face.charWidths[key] = self.thousandths(self.hb.get_glyph_h_advance(glyph))
            self.texts[key] = text
        return key

    def thousandths(self, units: float) -> float:
        """Font units as 1/1000 em, the unit of PDF glyph widths and ReportLab's shaping data."""
        return units * 1000 / self.units_per_em

    def addObjects(self, doc) -> None:
        """ReportLab's subsets, with a ToUnicode map that tells the text of every code."""
        subsets = [list(subset) for subset in self.state[doc].subsets]
        super().addObjects(doc)
        face = self.face.name + self.face.subfontNameX
        for number, subset in enumerate(subsets):
            name = (SUBSETN(number) + b"+" + face).decode("pdfdoc")
            stream = doc.idToObject["toUnicodeCMap:" + name]
            stream.content = to_unicode_cmap(name, [self.texts.get(code, chr(code)) for code in subset])


def to_unicode_cmap(name: str, texts: list[str]) -> str:
    """A ToUnicode CMap for one single-byte subset: code i stands for texts[i] (UTF-16BE, so
    characters beyond the BMP as surrogate pairs; empty for a glyph whose text another glyph of
    its cluster carries). Entries of code 0 (unused codes) are left out."""
    entries = [
        f"<{code:02X}> <{text.encode('utf-16-be', 'surrogatepass').hex().upper()}>"
        for code, text in enumerate(texts)
        if text != "\0"
    ]
    blocks = [entries[start : start + 100] for start in range(0, len(entries), 100)]  # at most 100 a block
    return "\n".join(
        [
            "/CIDInit /ProcSet findresource begin",
            "12 dict begin",
            "begincmap",
            f"/CIDSystemInfo << /Registry ({name}) /Ordering ({name}) /Supplement 0 >> def",
            f"/CMapName /{name} def",
            "/CMapType 2 def",
            "1 begincodespacerange",
            f"<00> <{len(texts) - 1:02X}>",
            "endcodespacerange",
            *(line for block in blocks for line in (f"{len(block)} beginbfchar", *block, "endbfchar")),
            "endcmap",
            "CMapName currentdict /CMap defineresource pop",
            "end",
            "end",
        ]
    )


@cache
def loaded(name: str) -> ReportFont:
    """The font, registered with ReportLab on first use."""
    font = ReportFont(name)
    pdfmetrics.registerFont(font)
    return font
