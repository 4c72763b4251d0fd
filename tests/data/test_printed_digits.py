"""Printed digits rendered from the installed fonts (the offline, SVHN-like source domain of DTN)."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageFont

from conftest import needs_dataset
from ganforge.data import load_source
from ganforge.data import printed_digits as pd
from ganforge.errors import DataError
from ganforge.registry import DATASETS

needs_fonts = needs_dataset("printed-digits")  # the fonts it is rendered from

CLEAN = pd.RenderStyle(
    height=(0.7, 0.7), rotation=0.0, jitter=0.0, neighbors=0.0, gradient=0.0, blur=0.0, noise=0.0
)


def one_font() -> Path:
    fonts = pd.find_fonts()
    assert fonts, "no fonts: apt-get install fonts-dejavu-core fonts-liberation (as .ci/run does)"
    return next((f for f in fonts if f.name == "DejaVuSans.ttf"), fonts[0])


def crop(mask: np.ndarray, side: int = 12) -> np.ndarray:
    """A boolean glyph mask cropped to its bounding box and resized to side x side floats."""
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    box = mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    image = Image.fromarray(box.astype(np.uint8) * 255).resize((side, side), Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.float64) / 255.0


@needs_fonts
def test_same_seed_same_images_and_labels_other_seed_others():
    a, b = pd.render_digits(30, seed=3), pd.render_digits(30, seed=3)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    c = pd.render_digits(30, seed=4)
    assert not torch.equal(a.images, c.images)
    assert a.images.shape == (30, 3, 32, 32) and a.images.dtype == torch.uint8
    assert a.class_names == [str(d) for d in range(10)]
    assert sorted(a.labels.tolist()) == sorted(list(range(10)) * 3)  # every digit equally often, shuffled
    assert a.labels.tolist() != sorted(a.labels.tolist())


@needs_fonts
def test_labels_name_the_drawn_digit():
    """Without augmentation, every image's glyph matches PIL's own drawing of its label best."""
    font_path = one_font()
    data = pd.render_digits(60, seed=0, style=CLEAN, fonts=[font_path])
    font = ImageFont.truetype(str(font_path), 64)
    templates = []
    for d in range(10):
        glyph = font.getmask(str(d))
        templates.append(crop(np.asarray(glyph).reshape(glyph.size[1], glyph.size[0]) > 127))
    templates = np.stack(templates)  # (10, 12, 12)
    predicted = []
    for image in data.images.double():
        distance = (
            (image - image[:, :1, :1]).abs().sum(0).numpy()
        )  # how far each pixel is from the background
        glyph = crop(distance > 0.5 * distance.max())
        predicted.append(int(((templates - glyph) ** 2).sum((1, 2)).argmin()))
    assert predicted == data.labels.tolist()


@needs_fonts
def test_augmentation_varies_colors_and_contrast_stays_readable():
    data = pd.render_digits(50, seed=1)
    images = data.images.double()
    corners = images[:, :, 0, 0]  # mostly background
    assert corners.std(0).min() > 30  # random background colors
    luma = (images * torch.tensor([0.299, 0.587, 0.114], dtype=torch.float64).view(1, 3, 1, 1)).sum(1)
    spread = luma.flatten(1).quantile(0.98, dim=1) - luma.flatten(1).quantile(0.02, dim=1)
    assert (spread > 0.2 * 255).float().mean() > 0.9  # text stands out from its background
    bright_text = (luma[:, 12:20, 12:20].mean((1, 2)) > luma[:, :3, :].mean((1, 2))).float().mean()
    assert 0.2 < bright_text < 0.8  # both polarities: light on dark and dark on light


@needs_fonts
def test_fonts_are_usable_and_exclude_emoji_fonts():
    fonts = pd.find_fonts()
    assert fonts == sorted(fonts)
    assert not any("emoji" in f.name.lower() for f in fonts)
    assert all(pd._draws_digits(f) for f in fonts)


@needs_fonts
def test_builtin_is_cached_and_loads_through_load_source(monkeypatch, isolated_cache):
    assert {"printed-digits", "printed-digits-test"} <= set(DATASETS.names())
    small = pd.PrintedDigits("printed-digits-small", 20, seed=0, purpose="test")
    first = small.load()
    assert list(isolated_cache.joinpath("printed-digits").glob("printed-digits-small-*.pt"))

    def fail(*args, **kwargs):
        raise AssertionError("rendered again although cached")

    monkeypatch.setattr(pd, "render_digits", fail)
    second = small.load()
    assert torch.equal(first.images, second.images) and torch.equal(first.labels, second.labels)
    monkeypatch.setattr(DATASETS.entry("printed-digits"), "obj", small)  # the 20,000 would take a minute
    loaded = load_source("printed-digits", size=16, channels=1)
    assert loaded.images.shape == (20, 1, 16, 16) and torch.equal(loaded.labels, first.labels)


def test_missing_fonts_give_an_install_hint(monkeypatch):
    monkeypatch.setattr(pd, "find_fonts", lambda *args, **kwargs: [])
    with pytest.raises(DataError, match="apt-get install fonts-dejavu-core fonts-liberation"):
        pd.render_digits(5)
    assert pd.PrintedDigits("x", 5, 0, "test").available() == (
        False,
        "apt-get install fonts-dejavu-core fonts-liberation",
    )
