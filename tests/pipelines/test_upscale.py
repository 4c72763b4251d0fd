"""UpscalePipeline: tiled equals untiled away from seams, bounded tiles, modes (alpha, gray, 16 bit),
loading from a bundle, and the SR evaluation's bicubic baseline against a hand computation."""

import math

import numpy as np
import pytest
import torch
from PIL import Image
from torch.nn import functional as F

from ganforge.capabilities import WrongModelError
from ganforge.data.sr_pairs import downscale
from ganforge.errors import ConfigError
from ganforge.metrics.sr_eval import evaluate_sr
from ganforge.models.srresnet import SRResNet
from ganforge.pipelines.tiling import _starts
from ganforge.pipelines.upscale import UpscalePipeline, pil_to_tensor


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models gain nothing from more threads and lose a lot on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def model(channels=3, scale=2, blocks=1, seed=0):
    torch.manual_seed(seed)
    return SRResNet(img_channels=channels, channels=8, blocks=blocks, scale=scale).eval()


def test_tiled_equals_untiled_away_from_seams():
    G = model(scale=2, blocks=1)  # receptive radius: 4 + 2 * 1 + 1 + 1 + ~3 = about 11 input pixels
    image = torch.rand(1, 3, 45, 61, generator=torch.Generator().manual_seed(0)) * 2 - 1
    tile, overlap = 32, 16
    whole = UpscalePipeline(G, tile=1000, overlap=0).upscale_tensor(image)
    tiled = UpscalePipeline(G, tile=tile, overlap=overlap).upscale_tensor(image)
    assert tiled.shape == whole.shape == (1, 3, 90, 122)
    # pixels that only one tile covers and that lie at least `overlap` from its edges: exact
    cover = torch.zeros(45, 61)
    for y in _starts(45, tile, tile - overlap):
        for x in _starts(61, tile, tile - overlap):
            cover[y : y + tile, x : x + tile] += 1
    core = F.interpolate((cover == 1).float()[None, None], scale_factor=2)[0, 0].bool()
    assert core.sum() > 0
    diff = (tiled - whole).abs()[0].amax(0)  # (H, W)
    assert diff[core].max() < 1e-5
    # the blended seams differ a little from the untiled image (in [-1, 1]; 0.02 is 2.5 gray levels)
    assert diff.mean() < 1e-3 and diff.max() < 0.02


def test_memory_is_bounded_by_the_tile_whatever_the_image_size():
    G = model()
    seen = []

    class Recorder(torch.nn.Module):
        scale, img_channels = 2, 3

        def __init__(self):
            super().__init__()
            self.G = G

        def forward(self, x):
            seen.append(tuple(x.shape[-2:]))
            return self.G(x)

    out = UpscalePipeline(Recorder(), tile=16, overlap=4).upscale_tensor(torch.zeros(1, 3, 70, 33))
    assert out.shape == (1, 3, 140, 66)
    assert len(seen) == 6 * 3 and max(max(s) for s in seen) == 16  # 6 x 3 tiles of 16x16


def rgba(size=(13, 9)):
    g = np.random.default_rng(0)
    array = g.integers(0, 256, (size[1], size[0], 4), dtype=np.uint8)
    array[..., 3] = np.linspace(0, 255, size[0], dtype=np.uint8)[None, :]  # a horizontal alpha ramp
    return Image.fromarray(array, "RGBA")


def test_alpha_is_kept_and_upscaled_bicubic():
    pipe = UpscalePipeline(model(scale=4), tile=8, overlap=2)
    image = rgba()
    out = pipe(image)
    assert out.mode == "RGBA" and out.size == (52, 36)
    expected = image.getchannel("A").resize((52, 36), Image.BICUBIC)
    assert np.array_equal(np.asarray(out.getchannel("A")), np.asarray(expected))
    rgb = pipe(image.convert("RGB"))
    assert np.array_equal(np.asarray(out.convert("RGB")), np.asarray(rgb))  # the color is the model's
    palette = image.convert("RGB").convert("P")
    palette.info["transparency"] = 0
    assert pipe(palette).mode == "RGBA"


def test_gray_in_gray_out_for_color_and_gray_models():
    gray = rgba().convert("L")
    color_model = UpscalePipeline(model(channels=3))
    out = color_model(gray)
    assert out.mode == "L" and out.size == (26, 18)
    # a color model sees R=G=B and its output is turned back into BT.601 luma
    rgb = color_model.upscale_tensor(pil_to_tensor(gray.convert("RGB")))
    luma = (rgb * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1)
    expected = ((luma[0] + 1) * 127.5).round().clamp(0, 255).numpy()
    assert np.abs(np.asarray(out).astype(int) - expected.astype(int)).max() <= 1
    gray_model = UpscalePipeline(model(channels=1))
    assert gray_model(gray).mode == "L"
    with_alpha = gray_model(rgba().convert("LA"))
    assert with_alpha.mode == "LA" and with_alpha.size == (26, 18)
    color = gray_model(rgba().convert("RGB"))  # a gray model upscales each color channel on its own
    assert color.mode == "RGB" and color.size == (26, 18)
    red = gray_model(rgba().convert("RGB").getchannel("R"))
    assert np.array_equal(np.asarray(color)[..., 0], np.asarray(red))


def test_16_bit_gray_is_rescaled_not_clipped():
    pipe = UpscalePipeline(model(channels=1))
    deep = Image.fromarray(np.full((6, 7), 40000, dtype=np.uint16))  # mode I;16
    bright = pipe(deep)
    assert bright.mode == "L" and bright.size == (14, 12)
    eight = pipe(Image.fromarray(np.full((6, 7), round(40000 / 65535 * 255), dtype=np.uint8)))
    assert np.array_equal(np.asarray(bright), np.asarray(eight))


def test_bad_settings_and_non_sr_models_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="overlap 16 must lie in"):
        UpscalePipeline(model(), tile=16, overlap=16)
    with pytest.raises(ConfigError, match="not a super-resolution generator"):
        UpscalePipeline(torch.nn.Conv2d(3, 3, 1))


def test_from_bundle_loads_a_trained_sr_model_and_refuses_others(tmp_path):
    from conftest import tiny_config
    from ganforge import bundle
    from ganforge.recipes.base import ModelSpec

    G = model(scale=4)
    cfg = tiny_config("srgan", scale=4, crop=16, channels=8, blocks=1)
    spec = ModelSpec(
        "srresnet.G", dict(img_channels=3, channels=8, blocks=1, scale=4, norm="batch", bicubic_skip=False)
    )
    folder = bundle.write_bundle(tmp_path / "b", cfg, {"G": G}, {"G": spec}, None, step=3, images_seen=24)
    pipe = UpscalePipeline.from_bundle(folder)
    assert pipe.scale == 4 and pipe.step == 3
    image = torch.rand(1, 3, 5, 6) * 2 - 1
    assert torch.allclose(pipe.upscale_tensor(image), G(image).clamp(-1, 1), atol=1e-6)
    dcgan = bundle.write_bundle(
        tmp_path / "d",
        tiny_config("dcgan"),
        {"G": torch.nn.Linear(1, 1)},
        {"G": ModelSpec("dcgan.G", dict(z_dim=8, img_channels=1, img_size=8, base_channels=4))},
        None,
        step=1,
        images_seen=1,
    )
    with pytest.raises(
        WrongModelError, match="is an image generator model, not one that can upscale: use ganforge sample"
    ):
        UpscalePipeline.from_bundle(dcgan)  # refused from model.json, before its (wrong) weights load


def test_bicubic_baseline_psnr_equals_a_hand_computation():
    """The evaluation's bicubic column, recomputed here with numpy from the same LR/HR arrays."""
    g = torch.Generator().manual_seed(1)
    hr = F.interpolate(torch.rand(3, 3, 6, 6, generator=g) * 255, size=(26, 22), mode="bilinear")
    hr = hr.round().to(torch.uint8)
    scale = 2
    result = evaluate_sr(lambda lr: torch.zeros(lr.shape[0], 3, lr.shape[2] * 2, lr.shape[3] * 2), hr, scale)
    assert result.images == 3 and result.border == 2 and result.hr_size == (26, 22)

    lr = downscale(hr, scale).float()
    up = F.interpolate(lr / 127.5 - 1, scale_factor=2, mode="bicubic", align_corners=False)
    up = ((up.clamp(-1, 1) + 1) * 127.5).round().numpy()  # the saved 8-bit bicubic image
    ref = hr.numpy().astype(np.float64)
    b = scale
    up, ref = up[..., b:-b, b:-b], ref[..., b:-b, b:-b]
    rgb = [10 * math.log10(255**2 / np.mean((u - r) ** 2)) for u, r in zip(up, ref, strict=True)]

    def luma(x):  # BT.601 Y in [16, 235]
        return 16 + (65.481 * x[0] + 128.553 * x[1] + 24.966 * x[2]) / 255

    y = [10 * math.log10(255**2 / np.mean((luma(u) - luma(r)) ** 2)) for u, r in zip(up, ref, strict=True)]
    assert result.bicubic.psnr_rgb == pytest.approx(np.mean(rgb), abs=1e-9)
    assert result.bicubic.psnr_y == pytest.approx(np.mean(y), abs=1e-6)  # float64 round-off only
    assert 0 < result.bicubic.ssim_y <= 1 and result.model.psnr_rgb < result.bicubic.psnr_rgb
    # an upscaler that *is* bicubic scores exactly the bicubic column
    same = evaluate_sr(
        lambda lr: F.interpolate(lr, scale_factor=2, mode="bicubic", align_corners=False), hr, 2
    )
    assert same.model == same.bicubic
    assert "| bicubic |" in same.table() and "border 2 px" in same.table()
    with pytest.raises(ConfigError, match="expected"):
        evaluate_sr(lambda lr: lr, hr, 2)


def test_bf16_upscaling_is_close_to_float32():
    from ganforge.pipelines.upscale import UpscalePipeline

    G = model()
    image = torch.rand(1, 3, 20, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    exact = UpscalePipeline(G, tile=12, overlap=4).upscale_tensor(image)
    fast = UpscalePipeline(G, tile=12, overlap=4, precision="bf16").upscale_tensor(image)
    assert fast.shape == exact.shape == (1, 3, 40, 56)
    assert 0 < (fast - exact).abs().max() < 0.1


def test_pil_images_go_through_in_uint8_strips_with_tile_progress():
    G = model(scale=2)
    pipe = UpscalePipeline(G, tile=8, overlap=4)  # strips of 16 rows + 4 rows of context each side
    image = torch.rand(1, 3, 45, 21, generator=torch.Generator().manual_seed(1)) * 2 - 1
    calls = []
    pipe.progress = lambda done, total: calls.append((done, total))
    strips = pipe.upscale_uint8(image)
    assert strips.shape == (90, 42, 3) and strips.dtype == np.uint8
    pipe.progress = None
    whole = ((pipe.upscale_tensor(image)[0] + 1) * 127.5).round().permute(1, 2, 0).numpy()
    # strips see the same context as whole-image tiles up to where their blending differs
    assert np.abs(strips.astype(np.float64) - whole).mean() < 0.5
    total = calls[0][1]
    assert total > 3 and all(t == total for _, t in calls)  # one bar over all strips
    assert calls[0][0] == 0 and calls[-1][0] == total
    dones = [done for done, _ in calls]
    assert dones == sorted(dones)  # one bar over all strips, never going back
