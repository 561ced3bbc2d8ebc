"""Every script prints: a corpus of real-world names from STS operations, rendered for real, read
back with pypdf, checked glyph by glyph against HarfBuzz for Arabic, and compared with reference
page images (made with poppler's pdftoppm).

`python -m tests.unit.test_report_scripts` writes the reference images again, after a change that
is meant to change how pages look; look at them before committing them."""

import io
import json
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from datetime import date
from pathlib import Path

import pytest
import uharfbuzz
from fontTools.pens.recordingPen import DecomposingRecordingPen
from fontTools.ttLib import TTFont
from PIL import Image, ImageChops
from pypdf import PdfReader
from pypdf.generic import ContentStream

from roomsnap.models import ApprovalLine, DocumentLine, PartyLine, ReportContent, ReportRoom, VesselLine

from renderer.report import render_report
from renderer.typefaces import FONTS_DIR

CORPUS: dict[str, str] = json.loads((Path(__file__).parent / "report_corpus.json").read_text())
ARABIC = ["Arabic vessel", "Arabic company", "Fujairah", "Khor Fakkan", "Sohar", "Ras Tanura"]
REFERENCE_PAGES = Path(__file__).parent / "report_pages"
RESOLUTION = 72  # dots per inch of the reference images: enough to see a glyph go wrong, small files
MOST_CHANGED = 0.0001  # the share of a page's pixels that may differ: one wrong glyph is more


def room(text: str = "Pre-transfer inspection", **changes) -> ReportContent:
    """A room that prints `text` as the snapshot's title (bold), the room's location (in a sentence),
    a party's company and a vessel's name (in table cells)."""
    content = ReportContent(
        title=text,
        room=ReportRoom(
            id="01m8gj9p3fzgz3gbmpmz9xbb6m",
            title="STS Fujairah",
            location=text,
            operation_time="2026-12-12T06:00:00Z",
            data_as_of="2026-12-04T10:00:00.000Z",
        ),
        expiry_checked_on=date(2026, 12, 4),
        parties=[PartyLine(email="ops@example.com", company=text, role="broker")],
        vessels=[VesselLine(name=text, imo="9074729", vessel_type="crude tanker", flag="AE")],
        documents=[],
        approvals=[],
        activity=[],
    )
    return content.model_copy(update=changes)


def extracted(pdf: bytes) -> str:
    return unicodedata.normalize("NFKC", "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))


@pytest.mark.parametrize("label", CORPUS)
def test_each_name_prints_and_reads_back_in_logical_order(label):
    # Given a room that prints a name in a bold title, a sentence, a party's company and a vessel's name
    text = CORPUS[label]

    # When it is rendered and its text extracted (pypdf)
    pdf = render_report(room(text))

    # Then the name reads back as typed (after NFKC) in each of those places, and in the page header
    assert extracted(pdf).count(unicodedata.normalize("NFKC", text)) == 5


def test_the_rooms_that_failed_before_render():
    # Given the rooms that made every snapshot fail: an Arabic vessel and company, an emoji in an
    # approval's comment, Chinese in the (bold) title
    content = room(
        "中远海运 STS 舟山",
        parties=[PartyLine(email="ops@example.com", company="شركة الخليج للشحن", role="broker")],
        vessels=[VesselLine(name="ناقلة الخليج", imo="9074729", vessel_type="crude tanker", flag="AE")],
        approvals=[ApprovalLine(id="a1", status="approved", comment="ok 👍", by="i@example.com", at="2026-12-01")],
    )

    # When rendered
    pdf = render_report(content)

    # Then all of it reads back, and the Chinese of the bold title is drawn in the CJK bold font
    text = extracted(pdf)
    for name in ("中远海运 STS 舟山", "شركة الخليج للشحن", "ناقلة الخليج", "ok 👍"):
        assert name in text
    fonts_of: dict[str, set[str]] = {}

    def on_text(text, cm, tm, font, size):
        if font is not None and text.strip():
            fonts_of.setdefault(text.strip(), set()).add(str(font["/BaseFont"]).split("+")[-1])

    PdfReader(io.BytesIO(pdf)).pages[0].extract_text(visitor_text=on_text)
    assert "NotoSansCJKsc-Bold" in fonts_of["中远海运"]


def outline(glyph_set, name: str) -> list:
    pen = DecomposingRecordingPen(glyph_set)
    glyph_set[name].draw(pen)
    return pen.value


def drawn_outlines(pdf: bytes, font_name: str) -> list[list]:
    """The outlines of the glyphs drawn in a font's embedded subsets, in content-stream order."""
    reader = PdfReader(io.BytesIO(pdf))
    page = reader.pages[0]
    subsets = {}
    for resource, reference in page["/Resources"]["/Font"].items():
        font = reference.get_object()
        if str(font["/BaseFont"]).endswith(f"+{font_name}"):
            subsets[resource] = TTFont(io.BytesIO(font["/FontDescriptor"]["/FontFile2"].get_data()))
    drawn, current = [], None
    for operands, operator in ContentStream(page.get_contents(), reader).operations:
        if operator == b"Tf":
            current = subsets.get(operands[0])
        elif operator in (b"Tj", b"TJ") and current is not None:
            strings = (
                [operands[0]] if operator == b"Tj" else [part for part in operands[0] if not hasattr(part, "real")]
            )
            codes = b"".join(getattr(string, "original_bytes", string) for string in strings)
            names = current["cmap"].tables[0].cmap
            drawn += [outline(current.getGlyphSet(), names[code]) for code in codes]
    return drawn


@pytest.mark.parametrize("label", ARABIC)
def test_arabic_is_drawn_in_the_joined_forms_harfbuzz_gives_for_the_font(label):
    # Given an Arabic name, and what HarfBuzz makes of it in the report's Arabic font
    text = CORPUS[label]
    path = FONTS_DIR / "NotoSansArabic-Regular.ttf"
    buffer = uharfbuzz.Buffer()
    buffer.add_str(text)
    buffer.guess_segment_properties()
    uharfbuzz.shape(uharfbuzz.Font(uharfbuzz.Face(uharfbuzz.Blob.from_file_path(str(path)))), buffer)
    font = TTFont(path)
    order, cmap = font.getGlyphOrder(), font.getBestCmap()
    shaped = [order[info.codepoint] for info in buffer.glyph_infos]
    # (joined forms: not the glyphs the letters map to on their own)
    assert set(shaped) - {cmap[ord(ch)] for ch in text}

    # When it is printed as a party's company, alone in the Arabic font
    content = room(parties=[PartyLine(email="ops@example.com", company=text, role="broker")], vessels=[])
    content = content.model_copy(update={"title": "Arabic", "room": content.room.model_copy(update={"location": "-"})})
    drawn = drawn_outlines(render_report(content), "NotoSansArabic-Regular")

    # Then the PDF draws exactly those glyphs, right to left as HarfBuzz ordered them
    assert drawn == [outline(font.getGlyphSet(), name) for name in shaped]


# ------------------------------------------------------------------------------------ the pages


def corpus_room() -> ReportContent:
    """One room that prints every name of the corpus, bold in the title and verdict too."""
    return room(
        "中远海运 · ناقلة الخليج · Ελληνική Ναυτιλία",
        parties=[
            PartyLine(email=f"party{number:02d}@example.com", company=text, role="broker")
            for number, text in enumerate(CORPUS.values())
        ],
        vessels=[VesselLine(name="ناقلة الخليج", imo="9074729", vessel_type="crude tanker", flag="AE")],
        documents=[
            DocumentLine(
                id="d1", name="شهادة P&I", document_type="certificate", status="approved", vessel_imo="9074729"
            ),
            DocumentLine(id="d2", name="船员名单", document_type="crew list", status="missing"),
        ],
        approvals=[ApprovalLine(id="a1", status="approved", comment="ok 👍", by="i@example.com", at="2026-12-01")],
    )


def page_images(pdf: bytes) -> list[Image.Image]:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "report.pdf").write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-r", str(RESOLUTION), "-gray", "-png", "report.pdf", "page"], cwd=folder, check=True
        )
        return [Image.open(path).copy() for path in sorted(Path(folder).glob("page-*.png"))]


def test_the_pages_look_as_they_did_when_a_person_checked_them():
    # Given the pages of a room that prints every name of the corpus, rasterized by poppler
    pages = page_images(render_report(corpus_room()))
    references = sorted(REFERENCE_PAGES.glob("corpus-*.png"))

    # Then each looks like its reference image: at most 0.01 % of its pixels (less than a glyph) differ
    # by more than 96 of 256 grey levels (poppler's anti-aliasing may vary between its versions)
    assert len(pages) == len(references)
    for page, reference in zip(pages, references, strict=True):
        expected = Image.open(reference)
        assert page.size == expected.size, reference.name
        changed = sum(ImageChops.difference(page.convert("L"), expected.convert("L")).histogram()[97:])
        assert changed <= MOST_CHANGED * page.size[0] * page.size[1], f"{reference.name}: {changed} pixels differ"


def write_reference_pages() -> None:
    shutil.rmtree(REFERENCE_PAGES, ignore_errors=True)
    REFERENCE_PAGES.mkdir()
    for number, image in enumerate(page_images(render_report(corpus_room())), start=1):
        image.save(REFERENCE_PAGES / f"corpus-{number}.png", optimize=True)
        print(REFERENCE_PAGES / f"corpus-{number}.png", file=sys.stderr)


if __name__ == "__main__":
    write_reference_pages()
