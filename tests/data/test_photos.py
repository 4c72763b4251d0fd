"""The `photos` source: real photographs, fixed training crops, whole held-out photos never trained on."""

from __future__ import annotations

import pytest
import torch

from ganforge.data import list_datasets, load_source
from ganforge.data.photos import HELDOUT, INSTALL, PHOTOS, Photos, found_photos, heldout_photos, random_crops
from ganforge.errors import DataError

SKIMAGE = {"astronaut", "chelsea", "coffee", "rocket", "stereo_motorcycle"}


@pytest.fixture
def bare(monkeypatch, tmp_path):
    """As on a machine without the wallpaper packages, with an empty cache."""
    monkeypatch.setenv("GANFORGE_NO_SYSTEM_DATA", "1")
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr("ganforge.data.photos.CROPS_PER_PHOTO", 12)  # fast tests


def test_photo_list_names_are_unique_and_held_out_ones_are_listed():
    names = [p.name for p in PHOTOS]
    assert len(names) == len(set(names)) == 27
    assert set(HELDOUT) <= set(names)
    assert {"chelsea", "coffee"} <= set(HELDOUT)  # scikit-image photos: a held-out set exists everywhere


def test_bare_machine_uses_the_scikit_image_photos_and_says_what_to_install(bare):
    assert {p.name for p in found_photos()} == SKIMAGE
    available, hint = Photos().available()
    assert available and INSTALL in hint and "only 5 of 27" in hint
    data = Photos().load()
    assert data.images.shape == (3 * 12, 3, 128, 128) and data.images.dtype == torch.uint8
    assert data.labels is None
    assert 40 < data.images.float().mean() < 220 and data.images.float().std() > 20  # photos, not blank


def test_crops_are_deterministic_and_cached(bare, tmp_path):
    first = Photos().load().images
    cached = list((tmp_path / "cache" / "photos").glob("crops-*.pt"))
    assert len(cached) == 1
    cached[0].write_bytes(b"damaged")  # a damaged cache is rebuilt, to the same crops
    again = Photos().load().images
    assert torch.equal(first, again)
    image = torch.arange(3 * 50 * 70, dtype=torch.float32).reshape(3, 50, 70).remainder(256).to(torch.uint8)
    a = random_crops([image], 5, 16, torch.Generator().manual_seed(3))
    b = random_crops([image], 5, 16, torch.Generator().manual_seed(3))
    c = random_crops([image], 5, 16, torch.Generator().manual_seed(4))
    assert a.shape == (5, 3, 16, 16) and torch.equal(a, b) and not torch.equal(a, c)


def test_held_out_photos_are_whole_and_never_in_training(bare):
    source = Photos()
    held, names = source.load_heldout(64)
    assert names == ["chelsea", "coffee"] and held.images.shape == (2, 3, 64, 64)
    assert not set(names) & set(source.training_names())
    crops = source.load().images
    # no training crop comes from a held-out photo: its downscaled pixels match none of them
    for image in held.images:
        small = torch.nn.functional.interpolate(crops.float(), size=64, mode="area")
        assert (small - image.float()).abs().mean((1, 2, 3)).min() > 10
    assert heldout_photos(32, channels=1).images.shape == (2, 1, 32, 32)


def test_data_list_and_load_source_show_photos(bare):
    row = next(r for r in list_datasets() if r.name == "photos")
    assert row.available and "apt-get install" in row.hint
    data = load_source("photos", size=32, limit=10)
    assert data.images.shape == (10, 3, 32, 32)


def test_no_photos_at_all_is_one_clear_error(bare, monkeypatch):
    monkeypatch.setattr("ganforge.data.photos.found_photos", lambda: [])
    available, hint = Photos().available()
    assert not available and INSTALL in hint
    with pytest.raises(DataError, match="apt-get install mate-backgrounds"):
        Photos().load()


def test_installed_packages_give_every_listed_photo():
    missing = [p for p in PHOTOS if p not in found_photos()]
    if missing:
        pytest.skip(f"{len(missing)} photos are not installed ({missing[0].package}, ...); {INSTALL}")
    source = Photos()
    train = source.training_names()
    assert len(train) == len(PHOTOS) - len(HELDOUT) and not set(train) & set(HELDOUT)
    assert source.available() == (True, f"{len(PHOTOS)} of {len(PHOTOS)} photos")
