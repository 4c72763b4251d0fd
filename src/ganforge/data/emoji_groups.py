"""Coarse groups of emoji, from their codepoints: the labels of the `emoji` built-in.

Seven groups after Unicode's emoji groups (emoji-test.txt), merged where a picture looks alike:
people (with their skin tones, jobs, families and couples), hands and other body parts, smileys
(faces, hearts, and the other Smileys & Emotion), flags, animals and plants, food and drink, and
everything else (objects, symbols, travel, activities). Ranges are written here (no Unicode data
file is needed offline); a sequence takes the group of the codepoints in it, in this order of
precedence: any flag part, a person, a hand, a skin tone (a person), then smiley, animal, food.
"""

from __future__ import annotations

EMOJI_GROUPS = ("person", "hand", "smiley", "flag", "animal", "food", "other")

Ranges = tuple[tuple[int, int], ...]

REGIONAL_INDICATORS = (0x1F1E6, 0x1F1FF)  # a pair of these is a country flag
SKIN_TONES = (0x1F3FB, 0x1F3FF)
FLAG: Ranges = ((0x1F3C1, 0x1F3C1), (0x1F3F3, 0x1F3F4), (0x1F6A9, 0x1F6A9), (0x1F38C, 0x1F38C))
PERSON: Ranges = (
    (0x1F385, 0x1F385), (0x1F3C2, 0x1F3C4), (0x1F3C7, 0x1F3C7), (0x1F3CA, 0x1F3CC), (0x1F464, 0x1F465),
    (0x1F466, 0x1F478), (0x1F47C, 0x1F47C), (0x1F481, 0x1F487), (0x1F574, 0x1F575), (0x1F57A, 0x1F57A),
    (0x1F5E3, 0x1F5E3), (0x1F645, 0x1F647), (0x1F64B, 0x1F64F), (0x1F6A3, 0x1F6A3), (0x1F6B4, 0x1F6B6),
    (0x1F6C0, 0x1F6C0), (0x1F6CC, 0x1F6CC), (0x1F926, 0x1F926), (0x1F930, 0x1F931), (0x1F934, 0x1F93E),
    (0x1F977, 0x1F977), (0x1F9B8, 0x1F9B9), (0x1F9CD, 0x1F9CF), (0x1F9D1, 0x1F9DF), (0x1FAC3, 0x1FAC5),
    (0x26F9, 0x26F9),
)  # fmt: skip
HAND: Ranges = (
    (0x261D, 0x261D), (0x270A, 0x270D), (0x1F442, 0x1F443), (0x1F446, 0x1F450), (0x1F485, 0x1F485),
    (0x1F4AA, 0x1F4AA), (0x1F590, 0x1F590), (0x1F595, 0x1F596), (0x1F90C, 0x1F90C), (0x1F90F, 0x1F90F),
    (0x1F918, 0x1F91F), (0x1F932, 0x1F933), (0x1F9B5, 0x1F9B6), (0x1F9BB, 0x1F9BB), (0x1FAF0, 0x1FAF8),
)  # fmt: skip
SMILEY: Ranges = (
    (0x2620, 0x2620), (0x2639, 0x263A), (0x2763, 0x2764), (0x1F479, 0x1F47B), (0x1F47D, 0x1F480),
    (0x1F48B, 0x1F48B), (0x1F493, 0x1F49F), (0x1F4A2, 0x1F4A6), (0x1F4A8, 0x1F4A9), (0x1F4AB, 0x1F4AD),
    (0x1F4AF, 0x1F4AF), (0x1F573, 0x1F573), (0x1F5A4, 0x1F5A4), (0x1F5E8, 0x1F5E8), (0x1F5EF, 0x1F5EF),
    (0x1F600, 0x1F644), (0x1F648, 0x1F64A), (0x1F90D, 0x1F90E), (0x1F910, 0x1F917), (0x1F920, 0x1F925),
    (0x1F927, 0x1F92F), (0x1F970, 0x1F976), (0x1F978, 0x1F97A), (0x1F9D0, 0x1F9D0), (0x1F9E1, 0x1F9E1),
    (0x1FA75, 0x1FA77), (0x1FAE0, 0x1FAE9),
)  # fmt: skip
ANIMAL: Ranges = (
    (0x2618, 0x2618), (0x1F330, 0x1F335), (0x1F337, 0x1F344), (0x1F3F5, 0x1F3F5), (0x1F400, 0x1F43F),
    (0x1F490, 0x1F490), (0x1F4AE, 0x1F4AE), (0x1F54A, 0x1F54A), (0x1F577, 0x1F578), (0x1F940, 0x1F940),
    (0x1F980, 0x1F9AE), (0x1F9CC, 0x1F9CC), (0x1FAB0, 0x1FABF), (0x1FACE, 0x1FACF),
)  # fmt: skip
FOOD: Ranges = (
    (0x2615, 0x2615), (0x1F32D, 0x1F32F), (0x1F336, 0x1F336), (0x1F345, 0x1F37F), (0x1F942, 0x1F944),
    (0x1F950, 0x1F96F), (0x1F9C0, 0x1F9CB), (0x1FAD0, 0x1FADC),
)  # fmt: skip


def _within(codepoint: int, ranges: Ranges) -> bool:
    return any(low <= codepoint <= high for low, high in ranges)


def emoji_group(text: str) -> str:
    """The group (one of EMOJI_GROUPS) of one emoji: a codepoint or a sequence of them, in any order
    (the font's ligatures list a sequence's parts in glyph order, not Unicode's)."""
    if not text:
        raise ValueError("emoji_group needs at least one codepoint")
    codes = [ord(ch) for ch in text]
    low, high = REGIONAL_INDICATORS
    if any(low <= c <= high or _within(c, FLAG) for c in codes):
        return "flag"
    if any(_within(c, PERSON) for c in codes):
        return "person"
    if any(_within(c, HAND) for c in codes):
        return "hand"
    if any(SKIN_TONES[0] <= c <= SKIN_TONES[1] for c in codes):
        return "person"
    for name, ranges in (("smiley", SMILEY), ("animal", ANIMAL), ("food", FOOD)):
        if any(_within(c, ranges) for c in codes):
            return name
    return "other"
