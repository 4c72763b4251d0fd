"""Every built-in dataset that is available here loads with the right shape, dtype, labels and values."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from ganforge.data import emoji as emoji_module
from ganforge.data import list_datasets
from ganforge.data.builtin import Builtin
from ganforge.data.emoji import _cmap_format4, font_codepoints
from ganforge.registry import DATASETS

EXPECTED = {  # name: (shape, number of classes)
    "mnist-5k": ((5000, 1, 28, 28), 10),
    "digits": ((1797, 1, 8, 8), 10),
    "fashion-mnist": ((70000, 1, 28, 28), 10),
    "lfw-mini": ((100, 1, 25, 25), 0),
}
BUILTINS = ["mnist-5k", "digits", "fashion-mnist", "lfw-mini", "emoji", "mnist", "cifar10"]


def load_or_skip(name: str):
    source = DATASETS.get(name)
    available, hint = source.available()
    if not available:
        pytest.skip(f"{name} is not available here: {hint}")
    return source.load()


def test_every_builtin_is_registered_with_its_metadata() -> None:
    for name in BUILTINS:
        entry = DATASETS.entry(name)
        assert isinstance(entry.obj, Builtin) and entry.obj.name == name
        assert entry.meta == {"description": entry.obj.description, "origin": entry.obj.origin}
    with pytest.raises(KeyError, match="already registered"):
        DATASETS.add("digits", object())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_builtin_shapes_and_labels(name: str) -> None:
    shape, num_classes = EXPECTED[name]
    data = load_or_skip(name)
    assert data.images.shape == shape and data.images.dtype == torch.uint8
    assert data.source == name and len(data) == shape[0]
    assert data.num_classes == num_classes
    if num_classes:
        assert data.labels.dtype == torch.int64 and data.labels.shape == (shape[0],)
        assert data.labels.min() == 0 and data.labels.max() == num_classes - 1
    else:
        assert data.labels is None
    assert data.images.min() == 0 and data.images.max() == 255


def test_mnist_5k_values() -> None:
    data = load_or_skip("mnist-5k")
    assert torch.bincount(data.labels).tolist() == [500] * 10
    assert data.class_names == [str(d) for d in range(10)]
    # Digits are white strokes on black: the border is background, the center is ink.
    assert data.images[:, :, 0, :].float().mean() < 1 and data.images[:, :, 10:18, 10:18].float().mean() > 60


def test_digits_match_scikit_learn() -> None:
    from sklearn.datasets import load_digits

    data = load_or_skip("digits")
    reference = load_digits()
    assert data.labels.tolist() == reference.target.tolist()
    np.testing.assert_array_equal(
        data.images[:, 0].numpy(), np.round(reference.images * 255 / 16).astype(np.uint8)
    )


def test_fashion_mnist_classes() -> None:
    data = load_or_skip("fashion-mnist")
    assert data.class_names[0] == "T-shirt/top" and data.class_names[9] == "Ankle boot"
    assert torch.bincount(data.labels).tolist() == [7000] * 10
    assert data.labels[:4].tolist() == [9, 0, 0, 3]  # the first training images: boot, top, top, dress


def test_lfw_mini_is_the_faces() -> None:
    from skimage.data import lfw_subset

    data = load_or_skip("lfw-mini")
    expected = np.round(np.asarray(lfw_subset())[:100] * 255).astype(np.uint8)
    np.testing.assert_array_equal(data.images[:, 0].numpy(), expected)


def test_emoji_renders_and_caches(isolated_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = load_or_skip("emoji")
    n = len(data)
    assert 3500 <= n <= 4200  # ~1,400 single codepoints + ~2,500 sequences
    assert data.images.shape == (n, 3, 64, 64)
    assert data.class_names == ["person", "hand", "smiley", "flag", "animal", "food", "other"]
    counts = dict(zip(data.class_names, torch.bincount(data.labels, minlength=7).tolist(), strict=True))
    assert counts["person"] > 0.4 * n  # people in skin tones, jobs and families make half of the font
    assert all(30 < counts[group] < 0.15 * n for group in ("hand", "smiley", "flag", "animal", "food"))
    corners = data.images[:, :, [0, 0, -1, -1], [0, -1, 0, -1]].float()
    assert corners.mean() > 250  # glyphs sit centered on white
    colorful = (data.images.int().amax(1) - data.images.int().amin(1)).flatten(1).amax(1) > 100
    assert colorful.float().mean() > 0.75  # mostly color glyphs (some are black or gray symbols)
    cached = list((isolated_cache / "emoji").glob("emoji-*.pt"))
    assert len(cached) == 1
    stored = torch.load(cached[0], weights_only=True)
    assert torch.equal(stored["images"], data.images) and torch.equal(stored["labels"], data.labels)

    def refuse(*args, **kwargs):
        raise AssertionError("rendered again although cached")

    monkeypatch.setattr(emoji_module, "render_emoji", refuse)
    again = DATASETS.get("emoji").load()
    assert torch.equal(again.images, data.images) and torch.equal(again.labels, data.labels)


def test_corrupt_emoji_cache_is_rendered_again(tmp_path: Path, monkeypatch, warnings_seen: list[str]) -> None:
    source = DATASETS.get("emoji")
    if not source.available()[0]:
        pytest.skip("no emoji font here")
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path))
    font = source._font()
    path = source._cache_path(font)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a tensor")
    fake = torch.zeros((2, 3, 64, 64), dtype=torch.uint8)
    texts = ["\U0001f600", "\U0001f1eb\U0001f1f7"]  # a smiley and the flag of France
    monkeypatch.setattr(emoji_module, "render_emoji", lambda font_path, size: (fake, texts))
    data = source.load()
    assert torch.equal(data.images, fake) and data.labels.tolist() == [2, 3]
    assert warnings_seen == [f"emoji cache {path} is unreadable (UnpicklingError); rendering the emoji again"]
    assert torch.equal(torch.load(path, weights_only=True)["images"], fake)


def test_emoji_cache_without_groups_is_rendered_again(
    tmp_path: Path, monkeypatch, warnings_seen: list[str]
) -> None:
    source = DATASETS.get("emoji")
    if not source.available()[0]:
        pytest.skip("no emoji font here")
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path))
    path = source._cache_path(source._font())
    path.parent.mkdir(parents=True)
    torch.save(torch.zeros((2, 3, 64, 64), dtype=torch.uint8), path)  # the old cache: images only
    fake = torch.full((1, 3, 64, 64), 7, dtype=torch.uint8)
    monkeypatch.setattr(emoji_module, "render_emoji", lambda font_path, size: (fake, ["\U0001f355"]))
    data = source.load()
    assert torch.equal(data.images, fake) and data.labels.tolist() == [5]  # pizza: food
    assert warnings_seen == [
        f"emoji cache {path} does not hold 64x64 RGB images with their groups; rendering the emoji again"
    ]


def test_font_cmap_has_the_common_emoji() -> None:
    font = DATASETS.get("emoji")._font()
    if font is None:
        pytest.skip(f"no emoji font here: {DATASETS.get('emoji').available()[1]}")
    codepoints = set(font_codepoints(font))
    assert {0x1F600, 0x1F431, 0x2764, 0x1F1E6} <= codepoints  # grinning face, cat, heart, regional A
    assert 0x41 not in codepoints  # no Latin letters


def test_cmap_format4_parser() -> None:
    # Two segments: 'A'..'C' mapped by delta to glyphs 1..3, and the mandatory 0xFFFF end segment.
    ends, starts, deltas, offsets = [0x43, 0xFFFF], [0x41, 0xFFFF], [1 - 0x41, 1], [0, 0]
    table = struct.pack(">HHHHHHH", 4, 0, 0, 4, 4, 1, 0)
    for values, fmt in ((ends, ">2H"), ([0], ">H"), (starts, ">2H"), (deltas, ">2h"), (offsets, ">2H")):
        table += struct.pack(fmt, *values)
    assert _cmap_format4(b"pad" + table, 3) == [0x41, 0x42, 0x43]


def test_list_datasets_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path))
    rows = {row.name: row for row in list_datasets()}
    assert set(BUILTINS) <= set(rows)
    assert list(rows) == sorted(rows)
    mnist = rows["mnist"]
    assert mnist.available is False
    assert mnist.hint == f"downloaded on first use (needs internet), or put the files in {tmp_path / 'mnist'}"
    assert rows["cifar10"].available is False and str(tmp_path / "cifar10") in rows["cifar10"].hint
    for row in rows.values():
        assert row.description and row.origin and row.hint and "\n" not in row.hint


def test_no_system_data_hides_every_system_copy(tmp_path: Path, monkeypatch) -> None:
    """GANFORGE_NO_SYSTEM_DATA=1 is a bare machine to the data layer: system-installed datasets and
    fonts are absent and the hint names the install command; Python-package data stays available."""
    from ganforge.data import printed_digits

    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path))
    monkeypatch.setenv("GANFORGE_NO_SYSTEM_DATA", "1")
    expected = {
        "fashion-mnist": "apt-get install dataset-fashion-mnist",
        "emoji": "apt-get install fonts-noto-color-emoji",
        "printed-digits": "apt-get install fonts-dejavu-core fonts-liberation",
    }
    for name, install in expected.items():
        available, hint = DATASETS.get(name).available()
        assert not available and hint.startswith(install), (name, hint)
    assert printed_digits.find_fonts() == []
    assert DATASETS.get("mnist-5k").available()[0] and DATASETS.get("digits").available()[0]
    monkeypatch.setenv("GANFORGE_NO_SYSTEM_DATA", "0")  # "0" means the system copies count again
    if Path("/usr/share/datasets/fashion-mnist").is_dir():
        assert DATASETS.get("fashion-mnist").available() == (True, "/usr/share/datasets/fashion-mnist")
