"""The presets on the `photos` source: a short training on a few photos lowers the held-out loss.

Run as on a bare machine (GANFORGE_NO_SYSTEM_DATA=1): scikit-image's three training photos and
its two held-out ones, so that these tests run everywhere; the settings are shrunk, the code path
(photos split, chroma U-Net, resize upsampling, eval on whole held-out photos) is the presets'.
"""

from __future__ import annotations

import pytest
import torch

from ganforge.data.derived import luminance
from ganforge.presets import get_preset
from ganforge.recipes.pix2pix import evaluate, heldout_pairs
from ganforge.training.trainer import Trainer


@pytest.fixture(autouse=True)
def bare(monkeypatch, tmp_path_factory):
    monkeypatch.setenv("GANFORGE_NO_SYSTEM_DATA", "1")
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path_factory.getbasetemp() / "photo-cache"))
    monkeypatch.setattr("ganforge.data.photos.CROPS_PER_PHOTO", 16)
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def shrunk(name: str, steps: int):
    cfg = get_preset(name)
    cfg.data.size = 32
    cfg.train.steps, cfg.train.batch_size, cfg.train.threads = steps, 8, 1
    cfg.train.sample_every = cfg.train.checkpoint_every = 1000
    cfg.train.device = "cpu"
    return cfg


@pytest.mark.parametrize(
    "task, steps", [("colorize", 40), ("inpaint", 40), ("edges2photo", 40), ("photo2edges", 40)]
)
def test_short_pix2pix_training_on_photos_lowers_the_held_out_L1(tmp_path, task, steps):
    cfg = shrunk(f"pix2pix-{task}-photos", steps)
    cfg.model.g_channels, cfg.model.d_channels, cfg.model.d_layers, cfg.model.eval_size = 8, 8, 2, 32
    trainer = Trainer(cfg, tmp_path / "run", progress=False, tensorboard=False)
    A, B = heldout_pairs(cfg, seed=0)
    assert A.shape[0] == 2 and B.shape[-2:] == (32, 32)  # chelsea and coffee, whole
    G = trainer.recipe.models["G"]
    before = evaluate(G, A, B, task)
    trainer.fit()
    after = evaluate(G, A, B, task)
    if task == "colorize":
        # An untrained chroma U-Net outputs almost exactly the gray input, the best trivial answer, and
        # a few dozen steps on three photos do not yet beat it on two others (the preset needs ~1,000):
        # here the held-out colorfulness rises towards the real photos' while the light stays exact.
        G.eval()
        with torch.no_grad():
            assert (luminance(G(A)) - A).abs().max() < 1e-5  # the chroma U-Net keeps the light exactly
        # the preset's fixed eval-time chroma gain halves the guessed chroma: the held-out L1 stays
        # about gray's while the hues are still mostly guesses
        assert float(G.chroma_gain) == 0.5
        assert after["l1"] < after["baseline_l1"] + 0.02, after
        G.chroma_gain.fill_(1.0)
        raw = evaluate(G, A, B, task)
        assert before["colorfulness"] < 2 and raw["colorfulness"] > 5, (before, raw)
        assert after["baseline_colorfulness"] == 0 and after["real_colorfulness"] > 20
    elif task == "edges2photo":
        # untrained, G answers mid gray everywhere, already a fair L1 guess; 40 steps beat the drawing
        assert after["l1"] < after["baseline_l1"] - 0.1 and after["psnr"] > after["baseline_psnr"] + 3
    elif task == "inpaint":
        # the coarse-fill U-Net starts as the push-pull fill, already far better than the mean color;
        # a short training must keep it there (the correction it learns is small, see the README)
        assert after["hole_l1"] < after["baseline_hole_l1"] - 0.05, after
        assert after["hole_l1"] < before["hole_l1"] + 0.005, (before, after)
        assert after["hole_psnr"] > after["baseline_hole_psnr"] + 2, after
    else:
        assert after["l1"] < before["l1"] - 0.01, (before, after)


def test_short_srresnet_training_on_photos_raises_the_held_out_psnr(tmp_path):
    cfg = shrunk("srgan-x4-photos", 40)
    cfg.model.crop, cfg.model.eval_size, cfg.model.channels, cfg.model.blocks = 32, 64, 16, 2
    trainer = Trainer(cfg, tmp_path / "run", progress=False, tensorboard=False)
    before = trainer.recipe.evaluate(trainer.recipe.models, cfg)
    trainer.fit()
    after = trainer.recipe.evaluate(trainer.recipe.models, cfg)
    assert after["heldout_images"] == 2 and after["border_px"] == 4
    assert after["psnr_y"] > before["psnr_y"] + 0.05, (before, after)


def test_photo_presets_fit_the_cpu_budget_settings():
    for name in ("pix2pix-colorize-photos", "pix2pix-inpaint-photos", "pix2pix-edges2photo-photos"):
        cfg = get_preset(name)
        assert cfg.data.source == "photos" and cfg.model.upsample == "resize" and cfg.model.eval_size == 128
    assert get_preset("pix2pix-colorize-photos").model.chroma
    for scale in (2, 4):
        cfg = get_preset(f"srgan-x{scale}-photos")
        assert cfg.model.scale == scale and cfg.data.source == "photos" and cfg.model.eval_size == 256


def test_photo_preset_settings_and_their_errors():
    from ganforge.errors import ConfigError

    colorize = get_preset("pix2pix-colorize-photos").model
    assert (colorize.chroma, colorize.recon, colorize.chroma_scale, colorize.chroma_gain) == (
        True,
        "l2",
        4,
        0.5,
    )
    assert colorize.task == "colorize" and colorize.pairs == "derived" and colorize.upsample == "resize"
    assert get_preset("pix2pix-inpaint-photos").model.coarse_fill is True
    colorize.chroma_gain = 9.0
    with pytest.raises(ConfigError, match="chroma_gain=9.0 needs model.chroma=true and a value in 0..4"):
        colorize.validate()
    inpaint = get_preset("pix2pix-inpaint-photos").model
    inpaint.chroma_scale = 4
    with pytest.raises(ConfigError, match="chroma_scale needs model.chroma=true"):
        inpaint.validate()
    edges = get_preset("pix2pix-edges2photo-photos").model
    edges.coarse_fill = True
    with pytest.raises(ConfigError, match="coarse_fill=true is for model.task=inpaint"):
        edges.validate()
