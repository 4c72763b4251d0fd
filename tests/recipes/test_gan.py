"""The gan/dcgan recipes' mode-seeking term (Mao et al. 2019), which keeps a conditional G from
drawing one image per class."""

import pytest
import torch

from conftest import tiny_config, tiny_images
from ganforge.errors import ConfigError
from ganforge.presets import get_preset
from ganforge.recipes.base import Batch
from ganforge.training.trainer import Trainer


def trainer(tmp_path, **model):
    cfg = tiny_config(steps=2, conditional=True, **model)
    return Trainer(cfg, tmp_path, data=tiny_images(32, classes=4), progress=False, tensorboard=False)


def test_mode_seeking_adds_the_inverse_image_to_latent_distance_ratio(tmp_path):
    recipe = trainer(tmp_path, mode_seeking=2.0).recipe
    batch = Batch(real=torch.zeros(8, 1, 8, 8), labels=torch.arange(8) % 4)
    recipe.G.eval()  # no BatchNorm statistics move between the two computations
    state = recipe.generator.get_state()
    loss, logs = recipe.g_main(batch)
    # by hand, from the same noise: one batch whose halves share labels (0 1 2 3 0 1 2 3), paired
    recipe.generator.set_state(state)
    with torch.no_grad():
        z, labels = recipe.draw_z(8), torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
        fake = recipe.G(z, labels)
        ratio = (fake[:4] - fake[4:]).abs().mean() / (z[:4] - z[4:]).abs().mean()
        adversarial = recipe.loss.g_loss(recipe.D(fake, labels))
    assert float(logs["G_ms_ratio"]) == pytest.approx(float(ratio), rel=1e-5)
    assert float(loss.detach()) == pytest.approx(float(adversarial + 2.0 / (ratio + 1e-5)), rel=1e-5)


def test_mode_seeking_pairs_the_batch_halves_by_label_and_d_sees_real_labels(tmp_path):
    recipe = trainer(tmp_path, mode_seeking=1.0).recipe
    batch = Batch(real=torch.zeros(7, 1, 8, 8), labels=torch.tensor([3, 1, 2, 0, 1, 2, 3]))
    # odd batch: the first half is the larger, and its last image has no partner
    assert recipe.draw_labels(batch).tolist() == [3, 1, 2, 0, 3, 1, 2]
    seen = []
    recipe.D.register_forward_hook(lambda module, args, out: seen.append(args[1].tolist()))
    recipe.d_main(batch)
    assert seen == [[3, 1, 2, 0, 1, 2, 3], [3, 1, 2, 0, 3, 1, 2]]  # real with its own labels, then fakes
    off = trainer(tmp_path / "off").recipe
    assert torch.equal(off.draw_labels(batch), batch.labels)  # without the term fakes copy the batch


def test_mode_seeking_logs_its_ratio_in_training_and_is_off_by_default(tmp_path):
    logs = trainer(tmp_path / "on", mode_seeking=1.0).train_step()
    assert 0 < float(logs["G_ms_ratio"]) < 10
    assert "G_ms_ratio" not in trainer(tmp_path / "off").train_step()


def test_mode_seeking_must_not_be_negative():
    with pytest.raises(ConfigError, match="model.mode_seeking must be >= 0"):
        tiny_config(mode_seeking=-1.0)


def test_a_generator_that_ignores_z_pays_the_most(tmp_path):
    recipe = trainer(tmp_path, mode_seeking=1.0).recipe
    with torch.no_grad():
        recipe.G.net[0].weight[: recipe.config.z_dim].zero_()  # z no longer reaches the output
    batch = Batch(real=torch.zeros(8, 1, 8, 8), labels=torch.arange(8) % 4)
    loss, logs = recipe.g_main(batch)
    assert float(logs["G_ms_ratio"]) < 1e-6 and float(loss) > 1e4


def test_decay_start_holds_the_rates_then_falls_linearly(tmp_path):
    recipe = trainer(tmp_path, decay_start=0.75).recipe
    factors = [recipe.lr_factor("G", step, 100) for step in (0, 74, 75, 76, 90, 99)]
    assert factors == pytest.approx([1.0, 1.0, 1.0, 1 - 1 / 26, 1 - 15 / 26, 1 - 24 / 26])
    assert recipe.lr_factor("D", 90, 100) == factors[4]  # both players alike
    assert trainer(tmp_path / "off").recipe.lr_factor("G", 99, 100) == 1.0  # off by default


def test_info_codes_add_q_cross_entropy_to_both_players(tmp_path):
    cfg = tiny_config(steps=2, info_codes=4, info_weight=0.5)
    run = Trainer(cfg, tmp_path, data=tiny_images(32), progress=False, tensorboard=False)
    recipe = run.recipe
    batch = Batch(real=torch.zeros(8, 1, 8, 8))
    recipe.G.eval()
    recipe.D.eval()  # no BatchNorm statistics move between the computations
    state = recipe.generator.get_state()
    loss, logs = recipe.g_main(batch)
    recipe.generator.set_state(state)
    with torch.no_grad():
        z = recipe.draw_z(8)
        logits, code_logits = recipe.D(recipe.G(z), codes=True)
        info = torch.nn.functional.cross_entropy(code_logits, z[:, :4].argmax(1))
    assert float(logs["G_info"]) == pytest.approx(float(info), rel=1e-5)
    assert float(loss.detach()) == pytest.approx(float(recipe.loss.g_loss(logits) + 0.5 * info), rel=1e-5)
    d_logs = run.train_step()
    assert {"D_info", "G_info"} <= set(d_logs) and 0 < float(d_logs["D_info"]) < 10
    assert recipe.D.code_head.weight.shape == (4, recipe.D.code_head.in_features)


def test_info_codes_are_off_by_default_and_checked():
    assert tiny_config().model.info_codes == 0
    with pytest.raises(ConfigError, match=r"model.info_codes=8 must be 0 \(off\) or 2..7") as err:
        tiny_config(info_codes=8)  # tiny z_dim is 8
    assert "set model.info_codes=0 or a larger model.z_dim" in str(err.value)
    with pytest.raises(ConfigError, match="model.info_weight must be >= 0"):
        tiny_config(info_codes=4, info_weight=-1.0)


def test_the_default_has_ten_codes_that_a_users_own_folder_does_not_inherit(tmp_path):
    from ganforge.cli.train import build_config

    default = get_preset("dcgan-mnist").model
    assert (default.info_codes, default.info_weight) == (10, 0.5)  # measured (README, quality)
    assert get_preset("cdcgan-mnist").model.info_codes == 0  # labels split the modes there
    own = build_config(None, None, None, str(tmp_path), {}, [])
    assert own.recipe == "dcgan" and own.model.info_codes == 0
    on = build_config(None, None, None, str(tmp_path), {}, ["model.info_codes=4"])
    assert on.model.info_codes == 4
    assert build_config("dcgan-mnist", None, None, "mnist-5k", {}, []).model.info_codes == 10
