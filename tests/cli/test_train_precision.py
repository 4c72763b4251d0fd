"""`ganforge train --precision`, checked by the one precision check every pipeline uses (issue #20)."""

import json

import pytest
from typer.testing import CliRunner

from ganforge.cli.app import app, main

runner = CliRunner()


def test_train_takes_precision_like_the_pipelines():
    result = runner.invoke(app, ["train", "--precision", "bf16", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["train"]["precision"] == "bf16"
    result = runner.invoke(app, ["train", "--dry-run"])
    assert json.loads(result.stdout)["train"]["precision"] == "auto"  # the config's default stays


@pytest.mark.parametrize("verb", [["train", "--dry-run"], ["sample", "nowhere"]])
def test_one_message_for_a_bad_precision(verb, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*verb, "--precision", "fp16"])
    assert exit_.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        "error: --precision 'fp16' is not one of auto, fp32, bf16 "
        "(fp32: the same pixels everywhere; bf16: faster where native; auto: bf16 where native)"
    )


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--preset", "dcgan-mnist"], {"lr_g": 5e-4, "lr_d": 5e-4}),
        (["--model", "stylegan"], {"lr_g": 5e-4, "lr_d": 5e-4}),
        (["--model", "sgan"], {"lr_g": 5e-4, "lr_d": 5e-4}),
    ],
)
def test_lr_sets_every_learning_rate_of_the_family(args, expected):
    """One flag for every family: every family spells its rates model.lr_g and model.lr_d."""
    result = runner.invoke(app, ["train", *args, "--lr", "5e-4", "--dry-run"])
    assert result.exit_code == 0, result.output
    model = json.loads(result.stdout)["model"]
    assert {k: model[k] for k in expected} == expected
    assert not any(
        k.startswith("lr") and k not in expected and isinstance(v, float) for k, v in model.items()
    )


def test_lr_g_and_lr_d_set_one_network_each():
    result = runner.invoke(
        app, ["train", "--model", "sgan", "--lr", "5e-4", "--lr-d", "1e-3", "--dry-run"]
    )  # --lr first, then the one network's own rate
    assert result.exit_code == 0, result.output
    model = json.loads(result.stdout)["model"]
    assert (model["lr_g"], model["lr_d"]) == (5e-4, 1e-3)
    help_text = runner.invoke(app, ["train", "--help"], env={"COLUMNS": "200"}).stdout
    assert "--lr-g" in help_text and "--lr-d" in help_text
