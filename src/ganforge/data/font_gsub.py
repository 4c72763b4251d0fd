"""Emoji sequences from an OpenType font's GSUB ligature lookups, parsed from the TTF bytes.

Color fonts draw ZWJ sequences (families, professions), skin-tone variants, flags and keycaps as
ligatures: a run of glyphs that GSUB lookup type 4 (Ligature Substitution) replaces by one glyph.
Walking those lookups and mapping each component glyph back to its codepoint through the cmap gives
every sequence the font can draw, without fontTools. Spec: the OpenType GSUB and cmap chapters.
"""

from __future__ import annotations

import struct
from pathlib import Path

LIGATURE_SUBSTITUTION = 4
EXTENSION_SUBSTITUTION = 7


def _tables(data: bytes) -> dict[bytes, int]:
    count = struct.unpack_from(">H", data, 4)[0]
    return {
        struct.unpack_from(">4s", data, 12 + 16 * i)[0]: struct.unpack_from(">I", data, 12 + 16 * i + 8)[0]
        for i in range(count)
    }


def glyph_codepoints(data: bytes) -> dict[int, int]:
    """glyph id -> codepoint, from the cmap's format-12 subtable (the lowest codepoint wins)."""
    cmap = _tables(data)[b"cmap"]
    for i in range(struct.unpack_from(">H", data, cmap + 2)[0]):
        offset = struct.unpack_from(">I", data, cmap + 4 + 8 * i + 4)[0]
        start = cmap + offset
        if struct.unpack_from(">H", data, start)[0] != 12:
            continue
        reverse: dict[int, int] = {}
        for g in range(struct.unpack_from(">I", data, start + 12)[0]):
            first, last, glyph = struct.unpack_from(">III", data, start + 16 + 12 * g)
            for k, code in enumerate(range(first, last + 1)):
                reverse.setdefault(glyph + k, code)
        return reverse
    raise ValueError("the font has no format-12 cmap subtable")


def _coverage(data: bytes, at: int) -> list[int]:
    fmt = struct.unpack_from(">H", data, at)[0]
    count = struct.unpack_from(">H", data, at + 2)[0]
    if fmt == 1:
        return list(struct.unpack_from(f">{count}H", data, at + 4))
    glyphs: list[int] = []
    for r in range(count):  # format 2: ranges (start, end, startCoverageIndex)
        first, last, _ = struct.unpack_from(">HHH", data, at + 4 + 6 * r)
        glyphs.extend(range(first, last + 1))
    return glyphs


def _ligature_subtable(data: bytes, at: int) -> list[tuple[int, list[int]]]:
    """(ligature glyph, component glyphs) of one LigatureSubstFormat1 subtable."""
    coverage = _coverage(data, at + struct.unpack_from(">H", data, at + 2)[0])
    set_count = struct.unpack_from(">H", data, at + 4)[0]
    sequences = []
    for s in range(set_count):
        set_at = at + struct.unpack_from(">H", data, at + 6 + 2 * s)[0]
        for k in range(struct.unpack_from(">H", data, set_at)[0]):
            lig_at = set_at + struct.unpack_from(">H", data, set_at + 2 + 2 * k)[0]
            ligature, components = struct.unpack_from(">HH", data, lig_at)
            rest = struct.unpack_from(f">{components - 1}H", data, lig_at + 4)
            sequences.append((ligature, [coverage[s], *rest]))
    return sequences


def ligature_sequences(font_path: str | Path) -> list[str]:
    """One codepoint sequence for every distinct glyph that the font's GSUB ligature lookups draw,
    leaving out glyphs that a single codepoint already reaches. Sorted."""
    data = Path(font_path).read_bytes()
    tables = _tables(data)
    if b"GSUB" not in tables:
        return []
    reverse = glyph_codepoints(data)
    gsub = tables[b"GSUB"]
    lookup_list = gsub + struct.unpack_from(">H", data, gsub + 8)[0]
    found: dict[int, str] = {}  # ligature glyph -> its shortest sequence
    for i in range(struct.unpack_from(">H", data, lookup_list)[0]):
        lookup = lookup_list + struct.unpack_from(">H", data, lookup_list + 2 + 2 * i)[0]
        kind, _flags, count = struct.unpack_from(">HHH", data, lookup)
        for j in range(count):
            sub = lookup + struct.unpack_from(">H", data, lookup + 6 + 2 * j)[0]
            sub_kind = kind
            if kind == EXTENSION_SUBSTITUTION:  # a 32-bit pointer to the real subtable
                sub_kind, offset = struct.unpack_from(">HI", data, sub + 2)
                sub += offset
            if sub_kind != LIGATURE_SUBSTITUTION:
                continue
            for ligature, glyphs in _ligature_subtable(data, sub):
                if ligature in reverse or not all(g in reverse for g in glyphs):
                    continue
                text = "".join(chr(reverse[g]) for g in glyphs)
                if ligature not in found or len(text) < len(found[ligature]):
                    found[ligature] = text
    return sorted(found.values())
