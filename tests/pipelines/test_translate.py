"""TranslatePipeline: any size and aspect, tiles that match untiled output in their cores, alpha,
gray/color inputs, inpainting masks, bundle loading, and the held-out evaluation."""

import pytest
import torch
from PIL import Image

from ganforge import bundle
from ganforge.capabilities import WrongModelError
from ganforge.config import DataConfig, RunConfig
from ganforge.data.derived import apply_mask, luminance
from ganforge.errors import CheckpointError, ConfigError
from ganforge.models.unet import UNetGenerator
from ganforge.pipelines.tiling import _starts, pad_to_multiple
from ganforge.pipelines.translate import (
    TranslatePipeline,
    baseline,
    evaluate,
    read_image,
    read_mask,
    save_image_file,
)
from ganforge.recipes.base import ModelSpec
from ganforge.recipes.pix2pix import Pix2PixConfig


def unet(c_in=3, c_out=3, depth=2, seed=0):
    torch.manual_seed(seed)
    G = UNetGenerator(in_channels=c_in, out_channels=c_out, base_channels=4, depth=depth).eval()
    with torch.no_grad():  # give the norms non-trivial statistics, as after training
        for m in G.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
    return G


def picture(h, w, c=3, seed=0):
    return torch.rand(1, c, h, w, generator=torch.Generator().manual_seed(seed)) * 2 - 1


@pytest.mark.parametrize("h, w", [(37, 53), (5, 7), (130, 70), (64, 64), (1, 9)])
def test_any_size_and_aspect_keeps_its_shape(h, w):
    pipe = TranslatePipeline(unet(depth=3), tile=32, overlap=8)
    out = pipe(picture(h, w))
    assert out.shape == (1, 3, h, w) and out.min() >= -1 and out.max() <= 1


def test_small_image_runs_whole_and_equals_the_model():
    G = unet(depth=3)
    x = picture(21, 30)
    padded, _ = pad_to_multiple(x, 8)
    with torch.no_grad():
        expected = G(padded)[..., :21, :30]
    assert torch.allclose(TranslatePipeline(G, tile=64)(x), expected.clamp(-1, 1), atol=1e-6)


def receptive_radius(G, size=64):
    """How far (in pixels) an output pixel sees: from the input-gradient of the centre pixel."""
    x = picture(size, size, c=G.in_channels).requires_grad_(True)
    G(x)[0, :, size // 2, size // 2].sum().backward()
    cols = (x.grad.abs().sum((0, 1, 2)) > 0).nonzero().flatten()
    return int(max(size // 2 - cols.min(), cols.max() - size // 2))


def test_tiled_output_equals_untiled_inside_each_tiles_core():
    """A pixel that is farther than the receptive radius from every seam of every tile covering it
    comes out exactly as when the whole image goes through the model at once."""
    G = unet(depth=2)
    r = receptive_radius(G)
    assert 4 <= r <= 12
    tile, overlap, (h, w) = 64, 16, (100, 148)
    image = picture(h, w)
    padded, _ = pad_to_multiple(image, 4)
    with torch.no_grad():
        whole = G(padded)[..., :h, :w]
    tiled = TranslatePipeline(G, tile=tile, overlap=overlap)(image)
    ph, pw = padded.shape[-2:]
    exact = torch.ones(h, w, dtype=torch.bool)
    for y in _starts(ph, tile, tile - overlap):
        for x in _starts(pw, tile, tile - overlap):
            core = torch.zeros(ph, pw, dtype=torch.bool)  # the tile minus r px at every seam
            top, left = y + (r if y > 0 else 0), x + (r if x > 0 else 0)
            bottom = y + tile - (r if y + tile < ph else 0)
            right = x + tile - (r if x + tile < pw else 0)
            core[top:bottom, left:right] = True
            covered = torch.zeros(ph, pw, dtype=torch.bool)
            covered[y : y + tile, x : x + tile] = True
            exact &= (core | ~covered)[:h, :w]  # covered pixels must lie in this tile's core
    assert exact.float().mean() > 0.3  # a good part of the image
    diff = (tiled - whole.clamp(-1, 1)).abs()[0].amax(0)  # (H, W)
    assert diff[exact].max() < 1e-5
    assert diff.max() < 1e-2  # and the seams are blended smoothly
    with torch.no_grad():  # one tile alone: wrong at its seams, exact in its core
        alone = G(padded[..., :64, 48:112])
    seam_error = (alone - whole[..., :64, 48:112]).abs().amax(1)[0]  # (64, 64)
    assert seam_error[8:56, :2].max() > 1e-3 and seam_error[8:56, r : 64 - r].max() < 1e-5


def test_alpha_passes_through_and_gray_or_color_feed_a_colorize_model(tmp_path):
    G = unet(c_in=1, c_out=3, depth=2)
    pipe = TranslatePipeline(G, task="colorize", tile=32, overlap=8)
    rgba = torch.randint(0, 256, (21, 34, 4), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    Image.fromarray(rgba.numpy(), "RGBA").save(tmp_path / "in.png")
    result = pipe.translate_file(tmp_path / "in.png")
    assert result.image.shape == (1, 3, 21, 34)
    save_image_file(result, tmp_path / "out.png")
    out = Image.open(tmp_path / "out.png")
    assert out.mode == "RGBA" and out.size == (34, 21)
    assert torch.equal(torch.from_numpy(__import__("numpy").asarray(out))[..., 3], rgba[..., 3])
    save_image_file(result, tmp_path / "out.jpg")  # JPEG has no alpha: dropped, not an error
    assert Image.open(tmp_path / "out.jpg").mode == "RGB"
    color, _ = read_image(tmp_path / "in.png")
    assert torch.equal(pipe(color), pipe(luminance(color)))  # a color photo is read as its luminance
    gray_model = TranslatePipeline(unet(c_in=3, c_out=3), tile=32)
    gray = picture(16, 16, c=1)
    assert torch.equal(gray_model(gray), gray_model(gray.expand(-1, 3, -1, -1)))


def test_inpainting_changes_only_the_holes():
    G = unet(c_in=4, c_out=3, depth=2)
    pipe = TranslatePipeline(G, task="inpaint", tile=64)  # one tile: the holes are exactly G's output
    image = picture(30, 41)
    mask = torch.zeros(1, 1, 30, 41)
    mask[..., 5:20, 10:30] = 1
    out = pipe(image, mask)
    assert torch.equal(out * (1 - mask), image * (1 - mask))
    assert not torch.allclose(out * mask, image * mask)
    with torch.no_grad():
        padded, _ = pad_to_multiple(apply_mask(image, mask), 4)
        direct = G(padded)[..., :30, :41]
    assert torch.allclose((out * mask)[..., 5:20, 10:30], direct.clamp(-1, 1)[..., 5:20, 10:30], atol=1e-6)
    tiled = TranslatePipeline(G, task="inpaint", tile=16, overlap=4)(image, mask)
    assert torch.equal(tiled * (1 - mask), image * (1 - mask))  # tiled too
    with pytest.raises(ConfigError, match="inpainting model: give --mask"):
        pipe(image)
    with pytest.raises(ConfigError, match="the mask is 8x8 pixels but the image is 41x30"):
        pipe(image, torch.ones(1, 1, 8, 8))
    with pytest.raises(ConfigError, match="only apply to inpainting models"):
        TranslatePipeline(unet(), tile=32)(image, mask)


def test_mask_file_white_is_hole(tmp_path):
    pixels = Image.new("L", (6, 4), 0)
    pixels.paste(255, (1, 1, 3, 3))
    pixels.save(tmp_path / "m.png")
    mask = read_mask(tmp_path / "m.png")
    assert mask.shape == (1, 1, 4, 6) and mask.sum() == 4 and mask[0, 0, 1:3, 1:3].eq(1).all()


def write(folder, recipe_config, models):
    cfg = RunConfig(name="t", recipe="pix2pix", data=DataConfig(source="emoji", size=8, channels=3))
    cfg.model = recipe_config
    specs = {
        name: ModelSpec(
            "unet.G", dict(in_channels=m.in_channels, out_channels=m.out_channels, base_channels=4, depth=2)
        )
        for name, m in models.items()
    }
    return bundle.write_bundle(folder, cfg, models, specs, None, step=1, images_seen=8)


def test_from_bundle_picks_the_generator(tmp_path):
    G = unet(c_in=1, c_out=3)
    folder = write(tmp_path / "run" / "bundle", Pix2PixConfig(task="colorize", pairs="derived"), {"G": G})
    pipe = TranslatePipeline.from_bundle(tmp_path / "run", tile=32)  # a run directory works too
    assert pipe.task == "colorize" and pipe.G.in_channels == 1
    x = picture(8, 8, c=1)
    assert torch.allclose(pipe(x), TranslatePipeline(G, "colorize")(x))
    with pytest.raises(ConfigError, match="trained AtoB and translates only that way"):
        TranslatePipeline.from_bundle(folder, direction="BtoA")

    AB, BA = unet(seed=1), unet(seed=2)
    cycle = write(tmp_path / "cycle", Pix2PixConfig(), {"G_AB": AB, "G_BA": BA})  # CycleGAN's two exports
    y = picture(8, 8)
    assert torch.allclose(TranslatePipeline.from_bundle(cycle)(y), TranslatePipeline(AB)(y))
    assert torch.allclose(TranslatePipeline.from_bundle(cycle, direction="BtoA")(y), TranslatePipeline(BA)(y))
    with pytest.raises(ConfigError, match="must be AtoB or BtoA"):
        TranslatePipeline.from_bundle(cycle, direction="up")
    with pytest.raises(CheckpointError, match="does not exist"):
        TranslatePipeline.from_bundle(tmp_path / "nothing")


def test_noise_generator_bundle_is_refused(tmp_path):
    from ganforge.models.dcgan import DCGANGenerator

    G = DCGANGenerator(z_dim=4, img_channels=1, img_size=8, base_channels=2)
    cfg = RunConfig(name="d", recipe="dcgan", data=DataConfig(source="mnist-5k", size=8, channels=1))
    spec = ModelSpec("dcgan.G", dict(z_dim=4, img_channels=1, img_size=8, base_channels=2))
    folder = bundle.write_bundle(tmp_path / "b", cfg, {"G_ema": G}, {"G_ema": spec}, None, 1, 8)
    with pytest.raises(
        WrongModelError, match="is an image generator model, not one that can translate: use ganforge sample"
    ):
        TranslatePipeline.from_bundle(folder)


def test_baselines_and_evaluate():
    gray = picture(2, 2, c=1).expand(3, -1, -1, -1)
    assert torch.equal(baseline("colorize", gray, 3), gray.expand(-1, 3, -1, -1))
    image = torch.tensor([[[[1.0, 0.0], [-1.0, 0.5]]]]).expand(1, 3, 2, 2)
    mask = torch.tensor([[[[0.0, 1.0], [0.0, 0.0]]]])
    filled = baseline("inpaint", apply_mask(image, mask), 3)
    assert torch.allclose(filled[0, :, 0, 1], torch.full((3,), (1.0 - 1.0 + 0.5) / 3))  # mean of known pixels
    assert torch.equal(filled * (1 - mask), image * (1 - mask))

    G = unet(c_in=1, c_out=3, depth=2)
    B = picture(16, 16, seed=3).expand(4, -1, -1, -1).contiguous()
    A = luminance(B)
    scores = evaluate(G, A, B, "colorize", batch_size=3)
    with torch.no_grad():
        l1 = (G(A).clamp(-1, 1) - B).abs().mean()
    assert scores["heldout_images"] == 4 and scores["l1"] == pytest.approx(float(l1), rel=1e-5)
    assert scores["baseline_l1"] == pytest.approx(float((A.expand(-1, 3, -1, -1) - B).abs().mean()))
    assert {"psnr", "ssim", "baseline_psnr", "baseline_ssim"} <= set(scores)


def test_bf16_translation_is_close_to_float32_and_tiles_alike():
    G, image = unet(), picture(40, 56)
    exact = TranslatePipeline(G, tile=24, overlap=8)(image)
    fast = TranslatePipeline(G, tile=24, overlap=8, precision="bf16")(image)
    assert fast.dtype == torch.float32 and fast.shape == exact.shape
    assert 0 < (fast - exact).abs().max() < 0.1
    with pytest.raises(ConfigError, match="--precision 'half' is not one of auto, fp32, bf16"):
        TranslatePipeline(G, precision="half")
