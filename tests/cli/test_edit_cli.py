"""`ganforge directions` and `ganforge edit` on a tiny trained run, as a user types them."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import tiny_config, tiny_images
from ganforge.cli.app import main
from ganforge.imaging import to_uint8
from ganforge.pipelines import GeneratePipeline, load_generator
from ganforge.training.trainer import Trainer


@pytest.fixture(autouse=True)
def keep_torch_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("edit")
    plain, cond = root / "plain", root / "cond"
    Trainer(tiny_config(steps=2), plain, data=tiny_images(), progress=False, tensorboard=False).fit()
    Trainer(
        tiny_config(steps=2, conditional=True),
        cond,
        data=tiny_images(classes=3),
        progress=False,
        tensorboard=False,
    ).fit()
    return plain, cond


def run_cli(args, capsys) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exit_info:
        code = exit_info.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_directions_then_strips_gifs_and_single_edits(runs, tmp_path, capsys):
    plain, _ = runs
    code, out, err = run_cli(["directions", str(plain), "--method", "pca", "--k", "3", "--n", "100"], capsys)
    assert code == 0, err
    assert (plain / "bundle" / "directions.safetensors").is_file()
    code, out, _ = run_cli(["directions", str(plain), "--list"], capsys)
    assert [line.split()[0] for line in out.strip().splitlines()] == ["pca:0", "pca:1", "pca:2"]
    strip = tmp_path / "strip.png"
    code, _, err = run_cli(
        [
            "edit",
            str(plain),
            "--seed",
            "3",
            "--direction",
            "pca:0",
            "--range",
            "-3,3",
            "--steps",
            "5",
            "--scale",
            "1",
            "--out",
            str(strip),
        ],
        capsys,
    )
    assert code == 0, err
    size = 8
    assert Image.open(strip).size == (5 * (size + 2) + 2, size + 4)  # one row of 5 padded images
    gif = tmp_path / "strip.gif"
    assert run_cli(["edit", str(plain), "--direction", "pca:1", "--out", str(gif)], capsys)[0] == 0
    assert Image.open(gif).n_frames == 12  # 7 steps there and 5 back
    one = tmp_path / "one.png"
    assert (
        run_cli(
            ["edit", str(plain), "--seed", "3", "--apply", "pca:0=0", "--scale", "1", "--out", str(one)],
            capsys,
        )[0]
        == 0
    )
    G = load_generator(plain).G
    unedited = GeneratePipeline(G)(1, seed=3).images
    got = torch.from_numpy(np.array(Image.open(one).convert("L")))
    assert got.equal(to_uint8(unedited)[0, 0])  # strength 0: the sample itself


def test_class_genes_on_a_conditional_run(runs, tmp_path, capsys):
    plain, cond = runs
    code, out, err = run_cli(["directions", str(cond), "--method", "classes"], capsys)
    assert code == 0 and "saved 3 classes direction(s)" in err.replace("\n", " "), err
    morph = tmp_path / "morph.png"
    assert (
        run_cli(
            [
                "edit",
                str(cond),
                "--class",
                "0",
                "--direction",
                "class:2",
                "--steps",
                "3",
                "--scale",
                "1",
                "--out",
                str(morph),
            ],
            capsys,
        )[0]
        == 0
    )
    assert Image.open(morph).size[0] == 3 * 10 + 2
    code, _, err = run_cli(["directions", str(plain), "--method", "classes"], capsys)
    assert code == 1
    assert err.strip().startswith("error: --method classes needs a class-conditional model")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--direction", "smile"], "error: unknown direction 'smile'; this model has: pca:0"),
        (["--direction", "pca:0", "--range", "3,-3"], "error: --range '3,-3': the low end must be"),
        (["--direction", "class:1"], "error: gene 'class:1': class genes need a class-conditional model"),
        (["--apply", "pca:0"], "error: --apply 'pca:0': write NAME=STRENGTH pairs"),
        ([], "error: give --direction NAME for a strip"),
        (["--direction", "pca:0", "--out", "x.jpg"], "error: --out x.jpg: use a .png"),
    ],
)
def test_edit_errors_are_one_line(runs, capsys, args, message):
    plain, _ = runs
    run_cli(["directions", str(plain), "--method", "pca", "--k", "2", "--n", "50"], capsys)
    code, _, err = run_cli(["edit", str(plain), *args], capsys)
    assert code == 1 and err.strip().startswith(message), err
    assert len(err.strip().splitlines()) <= 2  # one message (rich may wrap a long line)


def test_a_bundle_without_directions_and_a_bad_method(tmp_path, capsys):
    run = tmp_path / "fresh"
    Trainer(tiny_config(steps=2), run, data=tiny_images(), progress=False, tensorboard=False).fit()
    code, _, err = run_cli(["edit", str(run), "--direction", "pca:0"], capsys)
    assert code == 1 and "has no directions yet; find some with `ganforge directions" in err
    code, _, err = run_cli(["directions", str(run), "--method", "ica"], capsys)
    assert code == 1 and "--method 'ica': use one of pca, sefa, classes, labels" in err
    code, _, err = run_cli(["directions", str(run), "--method", "labels"], capsys)
    assert code == 1 and "--method labels needs --data" in err


def test_a_style_based_run_edits_in_w_by_layer_group(tmp_path, capsys):
    from ganforge.config import DataConfig, RunConfig, TrainConfig
    from ganforge.recipes.stylegan import StyleGANConfig

    cfg = RunConfig(
        name="tiny-stylegan",
        recipe="stylegan",
        data=DataConfig(source="tiny", size=16),
        train=TrainConfig(
            steps=2, batch_size=8, log_every=2, sample_every=4, checkpoint_every=4, n_samples=8, device="cpu"
        ),
        model=StyleGANConfig(z_dim=8, w_dim=8, mapping_layers=2, channel_base=64, max_channels=8),
    ).validate()
    run = tmp_path / "style"
    Trainer(cfg, run, data=tiny_images(size=16, channels=3), progress=False, tensorboard=False).fit()
    assert run_cli(["directions", str(run), "--method", "pca", "--k", "3", "--n", "100"], capsys)[0] == 0
    code, _, err = run_cli(
        ["directions", str(run), "--method", "sefa", "--k", "2", "--layers", "coarse"], capsys
    )
    assert code == 0, err
    _, listing, _ = run_cli(["directions", str(run), "--list"], capsys)
    rows = [line.split() for line in listing.strip().splitlines()]
    assert [(r[0], r[2], r[6]) for r in rows] == [
        ("pca:0", "w", "all"),
        ("pca:1", "w", "all"),
        ("pca:2", "w", "all"),
        ("sefa:0", "w", "coarse"),
        ("sefa:1", "w", "coarse"),
    ]
    outs = {}
    for layers in ("coarse", "fine"):
        outs[layers] = tmp_path / f"{layers}.png"
        args = [
            "edit",
            str(run),
            "--seed",
            "1",
            "--apply",
            "pca:0=3",
            "--layers",
            layers,
            "--truncation",
            "0.8",
            "--out",
            str(outs[layers]),
        ]
        assert run_cli(args, capsys)[0] == 0
    assert outs["coarse"].read_bytes() != outs["fine"].read_bytes()
