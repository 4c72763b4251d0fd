import pytest

from ganforge.data.emoji_groups import EMOJI_GROUPS, emoji_group

ZWJ = "\u200d"


@pytest.mark.parametrize(
    ("text", "group"),
    [
        ("\U0001f600", "smiley"),  # grinning face
        ("\u2764", "smiley"),  # red heart
        ("\U0001f1eb\U0001f1f7", "flag"),  # France
        ("\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f", "flag"),  # Scotland
        ("\U0001f3f3\ufe0f" + ZWJ + "\U0001f308", "flag"),  # rainbow flag
        ("\U0001f469\U0001f3fd", "person"),  # woman, medium skin tone
        ("\U0001f373" + ZWJ + "\U0001f9d1\U0001f3ff", "person"),  # cook, parts in the font's glyph order
        ("\u2640" + ZWJ + "\U0001f3c3", "person"),  # woman running: the sign comes first
        ("\U0001f44d\U0001f3fb", "hand"),  # thumbs up, light skin tone
        ("\U0001f44d", "hand"),
        ("\U0001f408", "animal"),  # cat
        ("\U0001f415" + ZWJ + "\U0001f9ba", "animal"),  # service dog
        ("\U0001f33b", "animal"),  # sunflower: animals and plants
        ("\U0001f355", "food"),  # pizza
        ("\u2615", "food"),  # hot beverage
        ("\U0001f680", "other"),  # rocket
        ("\u231a", "other"),  # watch
    ],
)
def test_emoji_groups_of_known_emoji(text: str, group: str) -> None:
    assert emoji_group(text) == group
    assert group in EMOJI_GROUPS


def test_emoji_group_needs_a_codepoint() -> None:
    with pytest.raises(ValueError, match="at least one codepoint"):
        emoji_group("")
