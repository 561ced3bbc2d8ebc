"""The renderer's text layout on its own: which font draws what, the bidi levels and the visual
order, line breaking, and the placeholders for what no font draws."""

import json

import pytest
from fontTools.ttLib import TTFont

from renderer.typefaces import BOLD, FONTS_DIR, REGULAR, font_for
from renderer.typesetting import bidi_levels, lay_out, visual_order

ARABIC, HEBREW = "ناقلة", "שלום"


def test_the_coverage_index_is_what_each_font_maps():
    # Given the index the renderer picks fonts by, and the fonts themselves
    coverage = json.loads((FONTS_DIR / "coverage.json").read_text())
    fonts = sorted(path.stem for path in FONTS_DIR.glob("*.ttf"))

    # Then it lists every font, each with exactly the code points its character map has
    assert sorted(coverage) == fonts
    for name in fonts:
        mapped = set(TTFont(FONTS_DIR / f"{name}.ttf", lazy=True).getBestCmap())
        assert {code for first, last in coverage[name] for code in range(first, last + 1)} == mapped, name


@pytest.mark.parametrize(
    ("ch", "regular", "bold"),
    [
        ("A", "NotoSans-Regular", "NotoSans-Bold"),
        ("ق", "NotoSansArabic-Regular", "NotoSansArabic-Bold"),
        ("ש", "NotoSansHebrew-Regular", "NotoSansHebrew-Bold"),
        ("न", "NotoSansDevanagari-Regular", "NotoSansDevanagari-Bold"),
        ("ท", "NotoSansThai-Regular", "NotoSansThai-Bold"),
        ("海", "NotoSansCJKsc-Regular", "NotoSansCJKsc-Bold"),
        ("한", "NotoSansCJKsc-Regular", "NotoSansCJKsc-Bold"),
        ("🚢", "NotoEmoji-Regular", "NotoEmoji-Bold"),
        ("\ue000", None, None),  # private use
        ("\x07", None, None),  # a control character, whatever a font maps
    ],
)
def test_each_script_has_a_font_in_both_weights(ch, regular, bold):
    assert (font_for(ch, REGULAR), font_for(ch, BOLD)) == (regular, bold)


@pytest.mark.parametrize(
    ("text", "levels", "rtl"),
    [
        ("MT Seawise", None, False),
        (f"{ARABIC} 2", [1] * 5 + [1, 2], True),
        (f"MT {ARABIC}", [0, 0, 0] + [1] * 5, False),
        (f"{HEBREW} ZIM", [1] * 4 + [1, 2, 2, 2], True),
        # An isolate (FSI … PDI) keeps its own direction inside a sentence of the other one
        (f"Q88 of \u2068{ARABIC}\u2069, valid", [0] * 7 + [0] + [1] * 5 + [0] + [0] * 7, False),
        # A right-to-left override reverses Latin too
        ("\u202eabc", [0, 1, 1, 1], False),
        # A lone surrogate (which no encoding writes) does not stop the algorithm
        (f"{ARABIC}\ud800", [1] * 6, True),
    ],
)
def test_bidi_levels_follow_the_unicode_bidi_algorithm(text, levels, rtl):
    assert bidi_levels(text) == (levels, rtl)


def test_higher_levels_are_turned_around_first():
    # UAX #9, rule L2: levels 0 1 1 2 2 1 → the level-2 pair turned, then the whole level ≥ 1 run
    assert visual_order([0, 1, 1, 2, 2, 1]) == [0, 5, 3, 4, 2, 1]


def line_texts(text: str, width: float) -> list[str]:
    return [text[line.start : line.end] for line in lay_out(text, REGULAR, 10, width)]


def test_cjk_breaks_between_characters_and_never_before_closing_punctuation():
    lines = line_texts("中远海运能源运输股份有限公司。日本郵船株式会社", 60)
    assert len(lines) > 2
    assert "".join(lines) == "中远海运能源运输股份有限公司。日本郵船株式会社"
    assert all(not line.startswith("。") for line in lines)


def test_words_break_at_spaces_and_a_word_longer_than_a_line_is_cut():
    assert line_texts("Fujairah Khor Fakkan Sohar", 60) == ["Fujairah", "Khor Fakkan", "Sohar"]
    cut = line_texts("Ras" + "t" * 60, 60)
    assert len(cut) > 1
    assert "".join(cut) == "Ras" + "t" * 60


def test_a_right_to_left_paragraph_is_set_right_to_left_and_aligned_right():
    (line,) = lay_out(f"{ARABIC} 2", REGULAR, 10, 200)
    number, word = sorted(line.pieces, key=lambda piece: piece.x)[::2]
    assert line.rtl
    assert word.font == "NotoSansArabic-Regular"
    assert number.x < word.x  # the number is read after the word: to its left


def test_a_character_no_font_draws_is_a_box_naming_its_code_point():
    (line,) = lay_out("A\ue000B", REGULAR, 10, 200)
    assert [(piece.font, str(piece.text)) for piece in line.pieces][1] == (None, "U+E000")
