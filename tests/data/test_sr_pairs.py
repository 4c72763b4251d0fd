"""Super-resolution pairs: antialiased bicubic LR, seeded crops, the held-out split."""

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.data.dataset import ImageData
from ganforge.data.sr_pairs import (
    center_crop,
    crop_at,
    crop_offsets,
    downscale,
    holdout_split,
    make_pairs,
    random_crops,
    sr_pairs,
)
from ganforge.errors import ConfigError


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors gain nothing from more threads and lose a lot on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def photo(n=3, c=3, h=24, w=20, seed=0):
    """Smooth random images (a low-resolution field upsampled), uint8."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, c, h // 4, w // 4, generator=g) * 255
    return torch.nn.functional.interpolate(low, size=(h, w), mode="bilinear").round().to(torch.uint8)


def test_downscale_matches_pillows_antialiased_bicubic():
    """An independent reference: Pillow's BICUBIC resize (a=-0.5, antialiased when shrinking)."""
    hr = photo(n=2, h=32, w=24)
    for scale in (2, 4):
        lr = downscale(hr, scale)
        assert lr.dtype == torch.uint8 and lr.shape == (2, 3, 32 // scale, 24 // scale)
        for i in range(2):
            image = Image.fromarray(hr[i].permute(1, 2, 0).numpy())
            ref = np.asarray(image.resize((24 // scale, 32 // scale), Image.BICUBIC)).astype(int)
            ours = lr[i].permute(1, 2, 0).numpy().astype(int)
            assert np.abs(ours - ref).max() <= 1  # rounding differences only


def test_downscale_antialiases_the_finest_checkerboard():
    """A 1-pixel checkerboard averages to mid-gray; a non-antialiased kernel would alias it."""
    board = (torch.arange(16).view(1, -1) + torch.arange(16).view(-1, 1)) % 2 * 255
    lr = downscale(board.to(torch.uint8).view(1, 1, 16, 16), 4)
    inner = lr[0, 0, 1:-1, 1:-1].float()
    assert (inner - 127.5).abs().max() <= 2


def test_float_downscale_is_quantized_to_8_bits_and_matches_uint8():
    hr = photo()
    as_float = downscale(hr.float() / 127.5 - 1, 2)
    levels = (as_float + 1) * 127.5
    assert torch.allclose(levels, levels.round(), atol=1e-4)
    assert torch.equal(levels.round().to(torch.uint8), downscale(hr, 2))
    unquantized = downscale(hr.float() / 127.5 - 1, 2, quantize=False)
    assert not torch.allclose(unquantized, as_float, atol=1e-6)


def test_downscale_needs_sizes_divisible_by_the_scale():
    with pytest.raises(ConfigError, match="do not divide by the scale 4"):
        downscale(torch.zeros(1, 3, 10, 12, dtype=torch.uint8), 4)


def test_crops_are_slices_at_their_offsets_and_seeded():
    images = photo(n=5, h=20, w=30)
    offsets = crop_offsets(5, 20, 30, 8, torch.Generator().manual_seed(3))
    assert offsets.shape == (5, 2)
    assert (offsets[:, 0] <= 12).all() and (offsets[:, 1] <= 22).all() and (offsets >= 0).all()
    crops = crop_at(images, offsets, 8)
    for i, (y, x) in enumerate(offsets.tolist()):
        assert torch.equal(crops[i], images[i, :, y : y + 8, x : x + 8])
    a = random_crops(images, 8, torch.Generator().manual_seed(7))
    b = random_crops(images, 8, torch.Generator().manual_seed(7))
    c = random_crops(images, 8, torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)
    aligned = crop_offsets(50, 20, 30, 8, torch.Generator().manual_seed(0), align=4)
    assert (aligned % 4 == 0).all()
    with pytest.raises(ConfigError, match="a 32x32 crop does not fit in 20x30 images"):
        crop_offsets(1, 20, 30, 32, torch.Generator())


def test_make_pairs_whole_images_and_seeded_crops():
    hr = photo(n=4, h=26, w=23)
    lr, target = make_pairs(hr, 4)
    assert target.shape == (4, 3, 24, 20)  # cropped centrally to multiples of 4
    assert torch.equal(target, hr[:, :, 1:25, 1:21])
    assert torch.equal(lr, downscale(target, 4))
    lr1, hr1 = make_pairs(hr, 2, crop=8, seed=5)
    lr2, hr2 = make_pairs(hr, 2, crop=8, seed=5)
    assert hr1.shape == (4, 3, 8, 8) and lr1.shape == (4, 3, 4, 4)
    assert torch.equal(hr1, hr2) and torch.equal(lr1, lr2)
    with pytest.raises(ConfigError, match="crop 9 must be a multiple of the scale 2"):
        make_pairs(hr, 2, crop=9)


def test_sr_pairs_dataset_holds_lr_images_and_hr_targets():
    data = ImageData(photo(n=6, c=1, h=16, w=16), None, None, "test")
    pairs = sr_pairs(data, 4)
    assert pairs.images.shape == (6, 1, 4, 4) and pairs.targets.shape == (6, 1, 16, 16)
    assert torch.equal(pairs.images, downscale(pairs.targets, 4))


def test_center_crop_refuses_images_smaller_than_the_scale():
    assert center_crop(torch.zeros(1, 1, 9, 7), 4).shape == (1, 1, 8, 4)
    with pytest.raises(ConfigError, match="smaller than the scale 4"):
        center_crop(torch.zeros(1, 1, 3, 9), 4)


def test_holdout_split_is_fixed_disjoint_and_complete():
    train, held = holdout_split(100, 10)
    train2, held2 = holdout_split(100, 10)
    assert torch.equal(train, train2) and torch.equal(held, held2)
    assert len(held) == 10 and len(train) == 90
    assert sorted(train.tolist() + held.tolist()) == list(range(100))
    assert held.tolist() != list(range(90, 100))  # a pseudo-random choice, not the last files
    assert len(holdout_split(5, 0)[1]) == 0
    assert len(holdout_split(3878, 0.05)[1]) == 194  # a fraction below 1
    assert len(holdout_split(10, 0.01)[1]) == 1  # at least one image when asked for any
    with pytest.raises(ConfigError, match="keeps back every one of the 10 images"):
        holdout_split(10, 10)
    with pytest.raises(ConfigError, match="a count must be a whole number"):
        holdout_split(10, 2.5)


def test_holdout_is_the_shared_split_and_matches_the_recipes_choices():
    """One held-out choice (data/splits.py): SR's, FastGAN's held_out_index and ganforge eval's
    reference choice all take the first k of one fixed permutation."""
    from ganforge.data.splits import holdout_indices
    from ganforge.data.sr_pairs import HOLDOUT_SEED
    from ganforge.metrics.reference import choose
    from ganforge.recipes.fastgan import held_out_index, training_index

    train, held = holdout_indices(50, 7, HOLDOUT_SEED)
    assert all(torch.equal(a, b) for a, b in zip((train, held), holdout_split(50, 7), strict=True))
    assert torch.equal(held, choose(50, 7, HOLDOUT_SEED))
    assert torch.equal(holdout_indices(3878, 1000, 0)[1], held_out_index(3878, 1000, 0))
    assert torch.equal(holdout_indices(3878, 1000, 0)[0], training_index(3878, 1000, 0))
    assert sorted(torch.cat([train, held]).tolist()) == list(range(50))
