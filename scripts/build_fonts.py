"""Rebuilds the report fonts (functions/renderer/renderer/fonts/) from their pinned sources.

    make fonts        # on Debian (it uses apt-get and npm)

ReportLab embeds TrueType-outline (glyf) fonts only, so every font here is a glyf font:
- Noto Sans, Noto Sans Arabic, Hebrew, Devanagari, Thai, Symbols, Symbols 2 and Math come from
  Debian's fonts-noto-core as they are (TrueType already), minus their hinting, which a PDF never
  uses and which would make every embedded subset larger;
- Noto Sans CJK SC (Regular and Bold) comes from Debian's fonts-noto-cjk, whose fonts are CFF
  (cubic outlines): its SC face is taken out of the collection and its outlines converted to
  quadratic ones (fontTools' cu2qu, within 1/1000 em), keeping the features that compose
  characters (ccmp, the Hangul jamo features) and dropping the regional variants (locl) and
  vertical forms a horizontal report never selects;
- Noto Emoji (the monochrome one, Regular and Bold instances) comes from the npm package
  @expo-google-fonts/noto-emoji, which ships Google Fonts' static TrueType instances; Debian
  has only the colour (bitmap) emoji font, which ReportLab cannot draw.

Every download is checked against the SHA-256 pinned here, and fontTools writes the outputs without
new timestamps, so the same sources give the same bytes. Besides the fonts it writes
`coverage.json` (the code points each font maps, as ranges: the renderer picks a font for a
character without loading every font) and the sources' licence texts. Fonts change PDFs: bump
TEMPLATE_VERSION in renderer/report.py after rebuilding them.
"""

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont, newTable

ROOT = Path(__file__).resolve().parents[1]
FONTS = ROOT / "functions/renderer/renderer/fonts"

DEBIAN = {
    "fonts-noto-core": ("20201225-1", "58f4f0bb6720f919f92096b3508e1412a0f1544424ade6c5b5bf1eb694dd64ba"),
    "fonts-noto-cjk": ("1:20220127+repack1-1", "4a2515eb6db3978b897fef9709ed0d2b1f4c6c4df4d83d6c4ef65f71f1b1f502"),
}
NPM = {
    "@expo-google-fonts/noto-emoji": ("0.4.7", "6a25fd5a4da5bb34bbc2d300531bbf32de86afd866e119314d7e358f61a6104d"),
}
NOTO = "usr/share/fonts/truetype/noto"
CJK = "usr/share/fonts/opentype/noto"
CJK_SC_INDEX = 2  # the collection's faces: JP, KR, SC, TC, HK, then the Mono ones
# What a horizontal CJK run needs besides the nominal glyphs: composition and conjoining jamo.
CJK_FEATURES = ["ccmp", "ljmo", "vjmo", "tjmo"]
MAX_CONVERSION_ERROR = 1.0  # font units (1/1000 em): far below what a printed page shows

# output file -> (source package, path inside it)
TRUETYPE = {
    "NotoSans-Regular.ttf": ("fonts-noto-core", f"{NOTO}/NotoSans-Regular.ttf"),
    "NotoSans-Bold.ttf": ("fonts-noto-core", f"{NOTO}/NotoSans-Bold.ttf"),
    "NotoSansArabic-Regular.ttf": ("fonts-noto-core", f"{NOTO}/NotoSansArabic-Regular.ttf"),
    "NotoSansArabic-Bold.ttf": ("fonts-noto-core", f"{NOTO}/NotoSansArabic-Bold.ttf"),
    "NotoSansHebrew-Regular.ttf": ("fonts-noto-core", f"{NOTO}/NotoSansHebrew-Regular.ttf"),
    "NotoSansHebrew-Bold.ttf": ("fonts-noto-core", f"{NOTO}/NotoSansHebrew-Bold.ttf"),
    "NotoSansDevanagari-Regular.ttf": ("fonts-noto-core", f"{NOTO}/NotoSansDevanagari-Regular.ttf"),
    "NotoSansDevanagari-Bold.ttf": ("fonts-noto-core", f"{NOTO}/NotoSansDevanagari-Bold.ttf"),
    "NotoSansThai-Regular.ttf": ("fonts-noto-core", f"{NOTO}/NotoSansThai-Regular.ttf"),
    "NotoSansThai-Bold.ttf": ("fonts-noto-core", f"{NOTO}/NotoSansThai-Bold.ttf"),
    "NotoSansSymbols-Regular.ttf": ("fonts-noto-core", f"{NOTO}/NotoSansSymbols-Regular.ttf"),
    "NotoSansSymbols-Bold.ttf": ("fonts-noto-core", f"{NOTO}/NotoSansSymbols-Bold.ttf"),
    "NotoSansSymbols2-Regular.ttf": ("fonts-noto-core", f"{NOTO}/NotoSansSymbols2-Regular.ttf"),
    "NotoSansMath-Regular.ttf": ("fonts-noto-core", f"{NOTO}/NotoSansMath-Regular.ttf"),
    "NotoEmoji-Regular.ttf": ("@expo-google-fonts/noto-emoji", "package/400Regular/NotoEmoji_400Regular.ttf"),
    "NotoEmoji-Bold.ttf": ("@expo-google-fonts/noto-emoji", "package/700Bold/NotoEmoji_700Bold.ttf"),
}
CFF = {
    "NotoSansCJKsc-Regular.ttf": ("fonts-noto-cjk", f"{CJK}/NotoSansCJK-Regular.ttc"),
    "NotoSansCJKsc-Bold.ttf": ("fonts-noto-cjk", f"{CJK}/NotoSansCJK-Bold.ttc"),
}
LICENCES = {
    "LICENSE-Noto.txt": ("fonts-noto-core", "usr/share/doc/fonts-noto-core/copyright"),
    "LICENSE-NotoCJK.txt": ("fonts-noto-cjk", "usr/share/doc/fonts-noto-cjk/copyright"),
    "LICENSE-NotoEmoji.txt": ("@expo-google-fonts/noto-emoji", "package/LICENSE_FONT"),
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch(work: Path) -> dict[str, Path]:
    """Each source package, downloaded by its ordinary client, checked, and unpacked."""
    unpacked = {}
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    for package, (version, digest) in DEBIAN.items():
        subprocess.run(["apt-get", "download", f"{package}={version}"], cwd=work, check=True)
        (deb,) = work.glob(f"{package}_*.deb")
        unpacked[package] = unpack(deb, digest, work / package)
    for package, (version, digest) in NPM.items():
        name = subprocess.run(
            ["npm", "pack", "--silent", f"{package}@{version}"], cwd=work, check=True, capture_output=True, text=True
        ).stdout.split()[-1]
        unpacked[package] = unpack(work / name, digest, work / package.replace("/", "+"))
    return unpacked


def unpack(archive: Path, digest: str, target: Path) -> Path:
    if (actual := sha256(archive)) != digest:
        sys.exit(f"{archive.name}: SHA-256 {actual}, pinned {digest}")
    if archive.suffix == ".deb":
        subprocess.run(["dpkg-deb", "-x", str(archive), str(target)], check=True)
    else:
        with tarfile.open(archive) as tar:
            tar.extractall(target, filter="data")
    return target


def subset_options(features: list[str] | None = None) -> subset.Options:
    options = subset.Options()
    options.hinting = False  # a PDF never uses hints; they only make each embedded subset larger
    options.layout_features = features or ["*"]
    options.name_IDs = ["*"]  # keep the copyright, licence and font names
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.glyph_names = False
    return options


def keep_all_characters(font: TTFont, options: subset.Options) -> None:
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=font.getBestCmap().keys())
    subsetter.subset(font)


def to_quadratic(font: TTFont) -> None:
    """CFF (cubic) outlines → glyf (quadratic) ones, with the tables TrueType outlines need."""
    order, glyphs = font.getGlyphOrder(), font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder, glyf.glyphs = order, {}
    for name in order:
        pen = TTGlyphPen(glyphs)
        glyphs[name].draw(Cu2QuPen(pen, MAX_CONVERSION_ERROR, reverse_direction=True))
        glyf[name] = pen.glyph()
    font["glyf"], font["loca"] = glyf, newTable("loca")
    for table in ("CFF ", "VORG"):
        if table in font:
            del font[table]
    maxp = newTable("maxp")
    maxp.tableVersion = 0x00010000
    maxp.numGlyphs = len(order)
    for field in (
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
    ):
        setattr(maxp, field, 0)
    maxp.maxZones = 1
    font["maxp"] = maxp
    font["head"].glyphDataFormat = 0
    font["post"].formatType = 3.0  # no glyph names
    font.sfntVersion = "\0\1\0\0"


def ranges(codepoints: list[int]) -> list[list[int]]:
    """Sorted code points as inclusive [first, last] ranges."""
    out: list[list[int]] = []
    for code in sorted(codepoints):
        if out and out[-1][1] == code - 1:
            out[-1][1] = code
        else:
            out.append([code, code])
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sources = fetch(Path(tmp))
        for name in [*FONTS.glob("*.ttf"), *FONTS.glob("LICENSE-*"), *FONTS.glob("NOTICE-*")]:
            name.unlink()
        for output, (package, path) in TRUETYPE.items():
            font = TTFont(sources[package] / path, recalcTimestamp=False)
            keep_all_characters(font, subset_options())
            font.save(FONTS / output)
            print(f"{output}: {(FONTS / output).stat().st_size:,} bytes", file=sys.stderr)
        for output, (package, path) in CFF.items():
            font = TTFont(sources[package] / path, fontNumber=CJK_SC_INDEX, recalcTimestamp=False)
            keep_all_characters(font, subset_options(CJK_FEATURES))
            to_quadratic(font)
            font.save(FONTS / output)
            print(f"{output}: {(FONTS / output).stat().st_size:,} bytes", file=sys.stderr)
        for output, (package, path) in LICENCES.items():
            shutil.copyfile(sources[package] / path, FONTS / output)
    coverage = {path.stem: ranges(list(TTFont(path, lazy=True).getBestCmap())) for path in sorted(FONTS.glob("*.ttf"))}
    (FONTS / "coverage.json").write_text(json.dumps(coverage, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
