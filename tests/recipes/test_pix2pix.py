"""The pix2pix recipe: models per task, data splits, pairing errors, exact resume, and learning."""

import pytest
import torch
from PIL import Image

from ganforge.config import DataConfig, RunConfig, TrainConfig, apply_overrides
from ganforge.data.dataset import ImageData
from ganforge.data.derived import derive_pair
from ganforge.errors import ConfigError
from ganforge.imaging import to_float
from ganforge.pipelines.translate import evaluate
from ganforge.presets import get_preset
from ganforge.recipes.pix2pix import Pix2PixConfig, heldout_pairs, load_splits, unet_depth
from ganforge.registry import PRESETS
from ganforge.training.trainer import Trainer

PALETTE = torch.tensor([[220, 40, 40], [40, 200, 60], [40, 60, 220], [240, 220, 40]], dtype=torch.uint8)


def squares(n=64, size=16, seed=0):
    """A colored square on white; the four colors have distinct luminance, so gray -> color is learnable."""
    g = torch.Generator().manual_seed(seed)
    images = torch.full((n, 3, size, size), 255, dtype=torch.uint8)
    for i in range(n):
        color = PALETTE[int(torch.randint(0, 4, (1,), generator=g))]
        side = int(torch.randint(size // 3, size // 2 + 2, (1,), generator=g))
        y, x = (int(v) for v in torch.randint(0, size - side + 1, (2,), generator=g))
        images[i, :, y : y + side, x : x + side] = color.view(3, 1, 1)
    return ImageData(images, None, None, "squares")


def tiny(task="colorize", steps=8, **model):
    settings = dict(task=task, pairs="derived", g_channels=8, d_channels=8, d_layers=2, holdout=0)
    return RunConfig(
        name=f"tiny-pix2pix-{task}",
        recipe="pix2pix",
        data=DataConfig(source="squares", size=16),
        train=TrainConfig(
            steps=steps,
            batch_size=8,
            log_every=2,
            sample_every=4,
            checkpoint_every=4,
            n_samples=12,
            device="cpu",
            threads=1,  # on a shared, busy CPU one thread is much faster than two that fight for cores
        ),
        model=Pix2PixConfig(**{**settings, **model}),
    ).validate()


@pytest.fixture(autouse=True)
def keep_torch_threads():
    """The trainer sets torch's thread count for the whole process; put it back for other tests."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def make(cfg, run_dir, data=None):
    return Trainer(cfg, run_dir, data=data or squares(), progress=False, tensorboard=False)


@pytest.mark.parametrize(
    "task, g_in, g_out", [("colorize", 1, 3), ("edges2photo", 1, 3), ("photo2edges", 3, 1), ("inpaint", 4, 3)]
)
def test_models_fit_the_task(tmp_path, task, g_in, g_out):
    trainer = make(tiny(task), tmp_path / "run")
    G, D = trainer.recipe.models["G"], trainer.recipe.models["D"]
    assert (G.in_channels, G.out_channels, G.depth) == (g_in, g_out, 4)  # 16 px: 1x1 bottleneck
    assert D.in_channels == g_in + g_out
    assert trainer.ema == {}  # pix2pix trains no EMA copy
    logs = trainer.train_step()
    assert {"D_loss", "D_real", "D_fake", "G_loss", "G_adv", "G_L1"} <= set(logs)
    assert torch.isclose(logs["G_loss"], logs["G_adv"] + 100 * logs["G_L1"])


def test_fit_writes_a_bundle_with_G_and_a_triplet_preview(tmp_path):
    trainer = make(tiny("colorize", steps=4), tmp_path / "run")
    G = trainer.recipe.models["G"]
    inputs = trainer.sample_inputs
    assert inputs["A"].shape == (4, 1, 16, 16) and inputs["nrow"] == 12  # 12 samples -> 4 triplets
    assert torch.allclose(
        inputs["A"], (inputs["B"] * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    )
    stats = G.down[1][2].running_mean.clone()
    grid = trainer.recipe.preview(trainer.models_for_use(), inputs)
    assert grid.shape == (12, 3, 16, 16)
    assert torch.equal(grid[0], inputs["A"][0].expand(3, -1, -1)) and torch.equal(grid[2], inputs["B"][0])
    assert G.training and torch.equal(G.down[1][2].running_mean, stats)  # preview changes nothing
    result = trainer.fit()
    files = {p.name for p in result.bundle_dir.iterdir()}
    assert {
        "G.safetensors",
        "model.json",
        "config.json",
        "samples.png",
    } <= files and "D.safetensors" not in files
    assert Image.open(result.bundle_dir / "samples.png").size == (12 * 18 + 2, 18 + 2)


def test_resume_is_bitwise_exact_with_random_masks(tmp_path):
    whole = make(tiny("inpaint", steps=8), tmp_path / "whole")
    whole.fit()
    make(tiny("inpaint", steps=4), tmp_path / "split").fit()
    second = make(tiny("inpaint", steps=8), tmp_path / "split")
    assert second.fit().step == 8
    a, b = whole.state_dict(), second.state_dict()
    for name in ("G", "D"):
        for key, value in a["models"][name].items():
            assert torch.equal(value, b["models"][name][key]), f"{name}.{key}"
    assert torch.equal(whole.recipe.generator.get_state(), second.recipe.generator.get_state())


def test_short_colorize_training_lowers_held_out_L1(tmp_path):
    cfg = tiny("colorize", steps=100, lr_g=1e-3, lr_d=1e-3)  # a quick learner, not the paper's settings
    cfg.train.sample_every = cfg.train.checkpoint_every = 1000
    trainer = make(cfg, tmp_path / "run", data=squares(128, seed=0))
    A, B = derive_pair("colorize", to_float(squares(32, seed=99).images))  # held-out: other squares
    before = evaluate(trainer.recipe.models["G"], A, B, "colorize")
    trainer.fit()
    after = evaluate(trainer.recipe.models["G"], A, B, "colorize")
    assert after["l1"] < 0.5 * before["l1"], (before, after)
    assert after["psnr"] > before["psnr"] + 6
    assert after["baseline_l1"] == before["baseline_l1"]  # gray copied to RGB: independent of G


def image_folder(root, n=30, size=12):
    root.mkdir(parents=True)
    data = squares(n, size)
    data.images[:, 0, 0, 0] = torch.arange(n, dtype=torch.uint8)  # tells the images apart
    for i, image in enumerate(data.images):
        Image.fromarray(image.permute(1, 2, 0).numpy()).save(root / f"{i:03d}.png")
    return root


def test_derived_data_holds_images_out(tmp_path):
    folder = image_folder(tmp_path / "imgs", n=30)
    cfg = tiny("colorize")
    cfg.data.source, cfg.data.size, cfg.model.holdout = str(folder), 12, 5
    train, held = load_splits(cfg)
    assert (len(train), len(held)) == (27, 3)  # the held-out share is capped at a tenth
    ids = sorted(train.images[:, 0, 0, 0].tolist() + held.images[:, 0, 0, 0].tolist())
    assert ids == list(range(30))  # disjoint, and together every image
    A, B = heldout_pairs(cfg)
    assert A.shape == (3, 1, 12, 12) and torch.equal(B, to_float(held.images))
    cfg.model.task = "inpaint"
    first, again = heldout_pairs(cfg, seed=5), heldout_pairs(cfg, seed=5)
    assert torch.equal(first[0], again[0])  # held-out masks are fixed by the seed


def test_real_pairs_with_train_and_test_folders(tmp_path):
    root = tmp_path / "pairs"
    for split, n in (("train", 6), ("test", 3)):
        (root / split).mkdir(parents=True)
        for k in range(n):
            pair = Image.new("RGB", (32, 16), (k * 20, 0, 0))
            pair.paste(Image.new("RGB", (16, 16), (0, 0, 100 + k * 20)), (16, 0))
            pair.save(root / split / f"{k}.png")
    cfg = apply_overrides(
        get_preset("pix2pix-colorize"),
        [
            f"data.source={root}",
            "data.size=16",
            "model.pairs=folders",
            "model.d_layers=2",
            "model.g_channels=4",
            "train.batch_size=4",
        ],
    )
    with pytest.raises(ConfigError, match="--pairs folders loads real pairs, but model.task=colorize"):
        load_splits(cfg)
    cfg = apply_overrides(cfg, ["model.task=paired", "model.pairs=side-by-side", "model.direction=BtoA"])
    train, held = load_splits(cfg)
    assert (len(train), len(held)) == (6, 3)
    assert train.images[:, 2, 8, 8].tolist() == [100, 120, 140, 160, 180, 200]  # BtoA: the blue right half
    assert train.targets[:, 0, 8, 8].tolist() == [0, 20, 40, 60, 80, 100]
    cfg.train.threads = 1
    trainer = Trainer(cfg, tmp_path / "run", progress=False, tensorboard=False)  # load_data from the config
    assert trainer.recipe.models["G"].in_channels == 3 and len(trainer.data) == 6
    cfg.model.pairs = "derived"
    with pytest.raises(ConfigError, match="model.task=paired needs real pairs"):
        load_splits(cfg)


def test_config_errors():
    with pytest.raises(ConfigError, match="model.d_layers=3 needs images of at least 24 px"):
        make(tiny("colorize", d_layers=3), "unused")
    with pytest.raises(ConfigError, match="colorize needs color images"):
        make(
            tiny("colorize"), "unused", data=ImageData(squares().images[:, :1].contiguous(), None, None, "g")
        )
    with pytest.raises(ConfigError, match="model.depth=3 needs an image size that is a multiple of 8"):
        unet_depth(12, 3)
    assert unet_depth(48, None) == 4 and unet_depth(256, None) == 8 and unet_depth(1024, None) == 8


def test_presets():
    names = {
        "pix2pix-colorize",
        "pix2pix-edges2photo",
        "pix2pix-photo2edges",
        "pix2pix-inpaint",
        "pix2pix-facades",
    }
    assert names <= set(PRESETS.names())
    for name in names:
        cfg = get_preset(name)
        assert cfg.recipe == "pix2pix" and cfg.name == name
    assert get_preset("pix2pix-inpaint").model.task == "inpaint"
    facades = get_preset("pix2pix-facades")
    assert (facades.data.size, facades.train.batch_size, facades.model.direction) == (256, 1, "BtoA")


def test_held_out_scores_at_the_end_of_training_and_from_the_bundle(tmp_path, monkeypatch):
    from ganforge.metrics import features
    from ganforge.pipelines.translate import evaluate_bundle

    folder = image_folder(tmp_path / "imgs", n=40, size=16)
    cfg = tiny("inpaint", steps=2)
    cfg.data.source, cfg.model.holdout = str(folder), 4
    trainer = Trainer(cfg, tmp_path / "run", progress=False, tensorboard=False)
    trainer.fit()
    scores = trainer.recipe.evaluate(trainer.models_for_use(), cfg)
    assert scores["heldout_images"] == 4
    keys = {"l1", "psnr", "ssim", "hole_l1"}
    assert keys | {f"baseline_{k}" for k in keys} <= set(scores)
    assert evaluate_bundle(tmp_path / "run") == pytest.approx(scores)  # same masks (seed 0), same figures

    real = features.get_extractor  # a Fréchet distance on features: a small random network stands in
    monkeypatch.setattr(
        features, "get_extractor", lambda name, device: real("digits-lenet", random_init=True)
    )
    cfg.model.eval_features = "digits-lenet"
    with_fd = trainer.recipe.evaluate(trainer.models_for_use(), cfg)
    assert with_fd["fd_digitslenet"] >= 0 and with_fd["baseline_fd_digitslenet"] >= 0
    assert with_fd["fd_digitslenet"] != with_fd["baseline_fd_digitslenet"]
