"""The trainer is the only writer of learning rates (issue #20): a recipe states a schedule
(`Recipe.lr_factor`) and the trainer multiplies it with its health scale. The rates every optimizer
stepped with, per step, through a NaN rollback (health scale 0.5) and its checkpoint reload, are
compared with those recorded before the change, when CycleGAN's LinearDecay and SRGAN's begin_step
rewrote the rates themselves: the figures are identical."""

import pytest
import torch
from recipes.test_cyclegan import make as cyclegan_run
from recipes.test_cyclegan import tiny as cyclegan_config
from recipes.test_srgan import make as srgan_run
from training.test_trainer import inject_nan

# (step, optimizer, lr) at every optimizer step, recorded on the code before the change
CYCLEGAN_BEFORE = [
    (0, "G", 0.002),
    (0, "D", 0.002),
    (1, "G", 0.002),
    (1, "D", 0.002),
    (2, "G", 0.002),
    (2, "D", 0.002),
    (3, "G", 0.002),
    (3, "D", 0.002),
    (4, "G", 0.00175),
    (4, "D", 0.00175),
    (5, "G", 0.0015),
    (5, "D", 0.0015),
    (6, "G", 0.00125),
    (6, "D", 0.00125),
    (4, "G", 0.000875),
    (4, "D", 0.000875),
    (5, "G", 0.00075),
    (5, "D", 0.00075),
    (6, "G", 0.000625),
    (6, "D", 0.000625),
    (7, "G", 0.0005),
    (7, "D", 0.0005),
    (8, "G", 0.000375),
    (8, "D", 0.000375),
    (9, "G", 0.00025),
    (9, "D", 0.00025),
]
SRGAN_BEFORE = [
    (0, "D", 0.0001),
    (0, "G", 0.0001),
    (1, "D", 0.0001),
    (1, "G", 0.0001),
    (2, "D", 0.0001),
    (2, "G", 0.0001),
    (3, "D", 1e-05),
    (3, "G", 1e-05),
    (4, "D", 1e-05),
    (4, "G", 1e-05),
    (5, "D", 1e-05),
    (5, "G", 1e-05),
    (6, "D", 1e-05),
    (6, "G", 1e-05),
    (4, "D", 5e-06),
    (4, "G", 5e-06),
    (5, "D", 5e-06),
    (5, "G", 5e-06),
    (6, "D", 5e-06),
    (6, "G", 5e-06),
    (7, "D", 5e-06),
    (7, "G", 5e-06),
]


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def stepped_rates(trainer) -> list[tuple[int, str, float]]:
    """Wrap every optimizer's step to note (step, optimizer, lr) as it runs."""
    seen = []
    for name, opt in trainer.recipe.optimizers.items():
        original = opt.step

        def step(*args, _name=name, _opt=opt, _original=original, **kwargs):
            seen.extend((trainer.step, _name, group["lr"]) for group in _opt.param_groups)
            return _original(*args, **kwargs)

        opt.step = step
    return seen


def test_cyclegan_linear_decay_with_a_rollback_is_unchanged(tmp_path):
    trainer = cyclegan_run(cyclegan_config(steps=10, decay_start=0.3), tmp_path / "run")
    seen = stepped_rates(trainer)
    inject_nan(trainer, [6])
    trainer.fit()
    assert seen == CYCLEGAN_BEFORE
    assert trainer.lr_scale == 0.5


def test_srgan_tenfold_decay_with_a_rollback_is_unchanged(tmp_path):
    trainer = srgan_run(tmp_path / "run", steps=8, stage="gan", content_loss="mse", lr_decay_step=3)
    seen = stepped_rates(trainer)
    inject_nan(trainer, [6])
    trainer.fit()
    assert seen == SRGAN_BEFORE


def test_a_recipe_schedule_is_the_only_thing_besides_the_trainer_that_sets_rates(tmp_path):
    """The schedule is asked with the step about to run; the trainer's scale multiplies it."""
    trainer = srgan_run(tmp_path / "run", steps=2, stage="gan", content_loss="mse", lr_decay_step=1)
    base = {k: [g["lr"] for g in o.param_groups] for k, o in trainer.recipe.optimizers.items()}
    trainer.lr_scale, trainer.step = 0.25, 1
    trainer._apply_lrs()
    for name, opt in trainer.recipe.optimizers.items():
        assert [g["lr"] for g in opt.param_groups] == [b * 0.25 * 0.1 for b in base[name]]
    # divergence advice names this family's own rate keys (not lr_decay_step, an int)
    assert trainer._lr_advice() == "--set model.lr_g=... --set model.lr_d=..."
