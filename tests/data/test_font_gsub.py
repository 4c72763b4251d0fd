from pathlib import Path

from conftest import needs_dataset
from ganforge.data.font_gsub import glyph_codepoints, ligature_sequences
from ganforge.registry import DATASETS

pytestmark = needs_dataset("emoji")  # the Noto color emoji font, from the system or the cache
NOTO = DATASETS.get("emoji")._font() or Path("NotoColorEmoji.ttf")


def test_sequences_of_the_noto_emoji_font():
    sequences = ligature_sequences(NOTO)
    assert 2000 <= len(sequences) <= 3000
    assert all(len(s) >= 2 for s in sequences)
    assert sequences == sorted(set(sequences))
    assert "\U0001f44d\U0001f3fd" in sequences  # thumbs up, medium skin tone
    flags = [s for s in sequences if all(0x1F1E6 <= ord(c) <= 0x1F1FF for c in s)]
    assert len(flags) >= 200 and all(len(f) == 2 for f in flags)
    assert any("\u200d" in s for s in sequences)  # ZWJ sequences


def test_reverse_cmap_maps_glyphs_to_codepoints():
    reverse = glyph_codepoints(NOTO.read_bytes())
    assert 0x1F600 in reverse.values() and len(reverse) > 1300


def test_font_without_gsub_has_no_sequences(tmp_path):
    # a minimal sfnt with only a table directory entry for 'head': no GSUB -> no sequences
    import struct

    data = struct.pack(">IHHHH", 0x00010000, 1, 16, 0, 0) + struct.pack(">4sIII", b"head", 0, 28, 0)
    path = tmp_path / "tiny.ttf"
    path.write_bytes(data + b"\0" * 16)
    assert ligature_sequences(path) == []
