"""`ganforge upscale` and `ganforge eval --task sr` end to end on a tiny trained x2 model, and the
--scale/--stage flags of `ganforge train`."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import tiny_config
from ganforge.cli.app import main
from ganforge.data.dataset import ImageData
from ganforge.training.trainer import Trainer


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models gain nothing from more threads and lose a lot on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    g = torch.Generator().manual_seed(0)
    low = torch.rand(16, 3, 4, 4, generator=g) * 255
    images = torch.nn.functional.interpolate(low, size=(16, 16), mode="bilinear").round().to(torch.uint8)
    cfg = tiny_config("srgan", steps=2, scale=2, crop=16, channels=4, blocks=1, holdout=0)
    run = tmp_path_factory.mktemp("sr") / "run"
    Trainer(cfg, run, data=ImageData(images, None, None, "t"), progress=False, tensorboard=False).fit()
    return run / "bundle"


def cli(*args):
    """The real entry point in-process: returns the exit status (errors print one `error:` line)."""
    with pytest.raises(SystemExit) as stop:
        main([str(a) for a in args])
    return stop.value.code


def picture(path, mode, size=(11, 7)):
    rng = np.random.default_rng(len(str(path)))
    channels = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}[mode]
    array = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
    Image.fromarray(array[..., 0] if channels == 1 else array, mode).save(path)
    return path


def test_upscale_files_and_folders_keeping_mode_and_alpha(bundle, tmp_path, capsys):
    inputs = tmp_path / "in"
    (inputs / "sub").mkdir(parents=True)
    rgba = picture(inputs / "logo.png", "RGBA")
    picture(inputs / "sub" / "gray.png", "L", size=(5, 9))
    loose = picture(tmp_path / "photo.jpg", "RGB", size=(13, 6))
    out = tmp_path / "out"
    assert (
        cli("upscale", bundle, loose, inputs, "--out", out, "--tile", 8, "--overlap", 2, "--no-progress") == 0
    )
    assert "wrote 3 image(s) upscaled x2" in capsys.readouterr().err
    expected = {"photo.png": ("RGB", (26, 12)), "logo.png": ("RGBA", (22, 14)), "gray.png": ("L", (10, 18))}
    for name, (mode, size) in expected.items():
        with Image.open(out / name) as image:
            assert (image.mode, image.size) == (mode, size)
    with Image.open(rgba) as source, Image.open(out / "logo.png") as result:
        alpha = source.getchannel("A").resize((22, 14), Image.BICUBIC)
        assert np.array_equal(np.asarray(result.getchannel("A")), np.asarray(alpha))
    assert sorted(p.name for p in out.iterdir()) == sorted(expected)  # no temp files left


def test_existing_outputs_and_inputs_are_never_overwritten(bundle, tmp_path, capsys):
    source = picture(tmp_path / "a.png", "RGB")
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.png").write_bytes(b"precious")
    assert cli("upscale", bundle, source, "--out", out, "--no-progress") == 1
    assert "exists; pass --overwrite" in capsys.readouterr().err
    assert (out / "a.png").read_bytes() == b"precious"
    assert cli("upscale", bundle, source, "--out", out, "--overwrite", "--progress") == 0  # with the bar
    with Image.open(out / "a.png") as image:
        assert image.size == (22, 14)
    before = source.read_bytes()
    assert cli("upscale", bundle, source, "--out", tmp_path, "--overwrite", "--no-progress") == 1
    assert "is an input; choose another --out folder" in capsys.readouterr().err
    assert source.read_bytes() == before
    picture(tmp_path / "a.jpg", "RGB")
    assert cli("upscale", bundle, source, tmp_path / "a.jpg", "--out", tmp_path / "o2", "--no-progress") == 1
    assert "would both be written to" in capsys.readouterr().err
    assert not (tmp_path / "o2").exists()


def test_unreadable_files_are_skipped_and_bad_arguments_are_errors(bundle, tmp_path, capsys):
    good = picture(tmp_path / "good.png", "RGB")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    out = tmp_path / "out"
    assert cli("upscale", bundle, good, bad, "--out", out, "--no-progress") == 0
    err = capsys.readouterr().err
    assert f"skipping {bad}: cannot read" in err and "(1 skipped)" in err
    assert cli("upscale", bundle, bad, "--out", tmp_path / "o3", "--no-progress") == 1
    assert "none of the 1 inputs could be read" in capsys.readouterr().err
    assert cli("upscale", bundle, tmp_path / "missing.png", "--out", out, "--no-progress") == 1
    assert "missing.png does not exist" in capsys.readouterr().err
    assert cli("upscale", bundle, good, "--out", tmp_path / "o4", "--overlap", 200, "--no-progress") == 1
    assert "error: --overlap 200 must lie in [0, tile)" in capsys.readouterr().err
    assert cli("upscale", tmp_path / "nowhere", good, "--out", tmp_path / "o5") == 1
    assert "does not exist" in capsys.readouterr().err


def test_eval_task_sr_prints_model_and_bicubic_and_writes_metrics(bundle, tmp_path, capsys):
    folder = tmp_path / "hr"
    folder.mkdir()
    for i in range(5):
        picture(folder / f"{i}.png", "RGB", size=(16, 16))
    out = tmp_path / "metrics.json"
    args = ("eval", bundle, "--task", "sr", "--data", folder, "--size", 16, "--no-progress")
    assert cli(*args, "--size", 8) == 1
    assert "leave 4x4 after the 2 px border; SSIM needs 11x11" in capsys.readouterr().err
    assert cli(*args, "--out", out) == 0
    printed = capsys.readouterr()
    assert "| x2, 5 images, border 2 px | PSNR-Y | PSNR-RGB | SSIM-Y | SSIM-RGB |" in printed.out
    assert "| srgan psnr stage |" in printed.out and "| bicubic |" in printed.out
    saved = json.loads(out.read_text())
    assert saved["heldout_images"] == 5 and saved["border_px"] == 2
    assert {"psnr_y", "psnr_rgb", "ssim_y", "ssim_rgb", "bicubic_psnr_y"} <= set(saved)
    assert saved["evaluations"][-1]["task"] == "sr"
    assert cli("eval", bundle, "--task", "nope") == 1
    assert "--task 'nope' is unknown" in capsys.readouterr().err


def test_train_scale_and_stage_flags_set_the_srgan_config(capsys):
    assert cli("train", "--preset", "srgan-x4", "--scale", 2, "--stage", "gan", "--dry-run") == 0
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["recipe"] == "srgan" and cfg["model"]["scale"] == 2 and cfg["model"]["stage"] == "gan"
    assert cli("train", "--preset", "srgan-x2", "--scale", 3, "--dry-run") == 1
    assert "model.scale=3 is not supported; use 2 or 4" in capsys.readouterr().err
    assert cli("train", "--preset", "dcgan-mnist", "--scale", 2, "--dry-run") == 1
    assert "--scale does not apply to recipe 'dcgan'" in capsys.readouterr().err
