"""The generic trainer. Nothing in this file knows about any one GAN family.

It runs a recipe's phases, keeps EMA copies, writes checkpoints, sample grids and logs, resumes
exactly, rolls back on NaN/inf (the health guard), stops cleanly on Ctrl-C, and writes a bundle
at the end.
"""

from __future__ import annotations

import contextlib
import copy
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ganforge import bundle
from ganforge.config import RunConfig, upgrade_model_keys
from ganforge.console import info, progress_enabled, warn
from ganforge.data.dataset import ImageData
from ganforge.errors import CheckpointError, ConfigError, GanforgeError, TrainingDiverged
from ganforge.imaging import save_image, to_float
from ganforge.memory import keep_freed_memory
from ganforge.metrics.store import update_metrics_json
from ganforge.nn.ema import update_ema
from ganforge.recipes.base import Batch, DataInfo, Recipe
from ganforge.registry import RECIPES, load_all
from ganforge.training import checkpoint as ckpt
from ganforge.training import distributed as dist_utils
from ganforge.training import speed
from ganforge.training.logger import RunLogger
from ganforge.training.progress import TrainProgress
from ganforge.training.rundir import new_run_dir
from ganforge.training.stream import BatchStream

# Settings that do not change what a run computes, so `--resume` may change them; every other key of a
# resumed run's config must match its checkpoint's. (Threads can change float rounding on CPU; that
# is accepted, as on another machine.)
CHANGEABLE_ON_RESUME = (
    "train.steps",
    "train.device",
    "train.threads",
    "train.log_every",
    "train.checkpoint_every",
    "train.keep_checkpoints",
    "train.eval_every",
    "train.eval_metrics",
    "train.eval_n",
    "train.eval_features",
)


class NonFiniteError(RuntimeError):
    """A loss or weight became NaN or inf; the health guard handles it."""


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    interrupted: bool = False
    bundle_dir: Path | None = None
    metrics: dict[str, float] | None = None  # the recipe's held-out metrics at the end (Recipe.evaluate)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    return torch.device(name)


class Trainer:
    """Trains `cfg` in `run_dir`, continuing from the newest checkpoint there if there is one."""

    def __init__(
        self,
        cfg: RunConfig,
        run_dir: Path | None,
        data: ImageData | dict[str, ImageData] | None = None,
        progress: bool | None = None,
        tensorboard: bool = True,
        start_over: bool = False,
    ):
        """`run_dir` None: set later (`new_run` makes it once everything here has worked). `start_over`:
        set the run's checkpoints aside and train from step 0 (for a run none of whose checkpoints
        loads; without it such a run is refused)."""
        load_all()
        keep_freed_memory()  # each step's large activations reuse the last step's memory
        self.cfg = cfg.validate()
        self.run_dir = Path(run_dir) if run_dir is not None else Path()
        self.start_over = start_over
        self._setup_processes()
        recipe_class = RECIPES.get(cfg.recipe)
        self._load_data(recipe_class, data)
        self._build_recipe(recipe_class)
        t = cfg.train
        self.streams = {
            name: BatchStream(
                d, self.batch_size, t.seed + k, self.device, self.dist.rank, self.dist.world_size, name
            )
            for k, (name, d) in enumerate(self.datasets.items())
        }
        self.stream = self.streams["main"]
        self.step = 0
        self.lr_scale = 1.0
        self.rollbacks = 0
        self.sample_inputs = self.recipe.sample_inputs(
            t.n_samples, torch.Generator().manual_seed(t.seed + 1), self._examples(t.n_samples)
        )
        self.show_progress = progress_enabled() if progress is None else progress
        self.tensorboard = tensorboard
        self._stop = threading.Event()
        self.stop_signal: int | None = None  # SIGINT or SIGTERM, once one asked the run to stop

    def _setup_processes(self) -> None:
        """Threads, device, the torchrun process group, and the batch per process."""
        t = self.cfg.train
        if t.threads:
            torch.set_num_threads(t.threads)
        self.device = resolve_device(t.device)
        self.dist = dist_utils.init_from_env(self.device)
        if self.dist.enabled and self.device.type == "cuda":
            self.device = torch.device("cuda", self.dist.local_rank)
        if t.global_batch is not None:
            if t.global_batch % self.dist.world_size:
                raise ConfigError(
                    f"train.global_batch={t.global_batch} does not split evenly over {self.dist.world_size} "
                    f"processes; use a multiple of {self.dist.world_size}"
                )
            self.batch_size = t.global_batch // self.dist.world_size  # per process
        else:
            self.batch_size = t.batch_size
        self.global_batch = self.batch_size * self.dist.world_size

    def _load_data(self, recipe_class: type[Recipe], data: ImageData | dict[str, ImageData] | None) -> None:
        """The recipe's data streams (given ones, e.g. in tests, or loaded as its config says)."""
        cfg = self.cfg
        if data is None:
            data = recipe_class.load_data(cfg)
        self.datasets = data if isinstance(data, dict) else {"main": data}
        self.data = self.datasets["main"]
        self._fit_batch_to_data()
        cfg.data.channels = int(self.data.images.shape[1])  # resolved, so the run rebuilds from config.json
        labels, k = self.data.labels, self.data.num_classes
        counts = tuple(torch.bincount(labels, minlength=k).tolist()) if labels is not None else ()
        self.info = DataInfo(cfg.data.channels, int(self.data.images.shape[-1]), k, counts)

    def _build_recipe(self, recipe_class: type[Recipe]) -> None:
        """The recipe's models and optimizers, on every rank alike, with the speed switches and EMA copies."""
        t = self.cfg.train
        torch.manual_seed(t.seed)  # weight init
        # one noise stream on every rank; `Recipe.randn` hands each rank its slice of the global batch
        noise = torch.Generator(self.device).manual_seed(t.seed)
        self.recipe: Recipe = recipe_class(
            self.cfg.model, self.info, self.device, noise, self.dist.rank, self.dist.world_size
        )
        self.fused = speed.fuse_optimizers(self.recipe.optimizers, self.device) if t.fused_optim else []
        self._maybe_sync_batchnorm()
        dist_utils.broadcast_parameters(self.recipe.models.values(), self.dist)
        self.channels_last = speed.use_channels_last(t.memory_format, self.device, recipe_class.channels_last)
        if self.channels_last:
            speed.to_channels_last(self.recipe.models.values())
        self.amp_dtype = speed.autocast_dtype(t.precision, self.device, recipe_class.auto_bf16)
        self.ema = {f"{name}_ema": self._ema_copy(self.recipe.models[name]) for name in self.recipe.ema_of}
        if t.compile and (needs := self.recipe.double_backward()):
            raise ConfigError(
                f"train.compile cannot train this {self.cfg.recipe} run: {needs} differentiates a "
                "gradient, which torch.compile does not support; set train.compile=false or switch it off"
            )
        self.compiled = t.compile and speed.compile_models(self.recipe.models.values(), self.device)
        self.phases = self.recipe.phases()
        self.base_lrs = {k: [g["lr"] for g in o.param_groups] for k, o in self.recipe.optimizers.items()}

    def _fit_batch_to_data(self) -> None:
        """A dataset smaller than one batch trains with the batch lowered to it (saved in config.json,
        so a resumed run uses the same), rather than refusing a folder of 50 images."""
        world = self.dist.world_size
        n = min(len(d) for d in self.datasets.values())
        if self.global_batch <= n or n < world:
            return  # fits, or too small for any batch (BatchStream says so)
        t = self.cfg.train
        lowered = n // world
        warn(
            f"the data has {n} images, fewer than one batch of {self.global_batch}: training with "
            f"batch {lowered * world} (choose another with --batch-size)"
        )
        self.batch_size, self.global_batch = lowered, lowered * world
        t.batch_size = lowered
        if t.global_batch is not None:
            t.global_batch = lowered * world

    def _maybe_sync_batchnorm(self) -> None:
        if not (self.cfg.train.sync_batchnorm and self.dist.enabled):
            return
        if self.device.type != "cuda":
            raise ConfigError("train.sync_batchnorm needs CUDA devices (PyTorch's SyncBatchNorm is GPU-only)")
        for model in self.recipe.models.values():
            # converts BatchNorm children in place, keeping the same Parameter objects for the optimizers
            torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)

    @classmethod
    def new_run(cls, cfg: RunConfig, runs_root: Path, **kwargs: Any) -> Trainer:
        """Start a new auto-numbered run under `runs_root`; under torchrun rank 0 makes the directory.

        The directory is made only once the data loaded and the models were built, and appears with its
        config.json in place, so a start that fails leaves nothing behind."""
        trainer = cls(cfg, None, **kwargs)
        run_dir = new_run_dir(runs_root, cfg.name, trainer.cfg) if trainer.dist.is_main else None
        trainer.run_dir = Path(dist_utils.broadcast_object(run_dir, trainer.dist))
        return trainer

    # ------------------------------------------------------------------ state

    def _ema_copy(self, model: torch.nn.Module) -> torch.nn.Module:
        ema = copy.deepcopy(model).eval()
        ema.requires_grad_(False)
        return ema

    def all_models(self) -> dict[str, torch.nn.Module]:
        return {**self.recipe.models, **self.ema}

    def state_dict(self) -> dict[str, Any]:
        rng = {"torch": torch.get_rng_state(), "noise": self.recipe.generator.get_state()}
        if torch.cuda.is_available() and self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        return {
            "format": ckpt.FORMAT,
            "step": self.step,
            "images_seen": self.step * self.global_batch,
            "lr_scale": self.lr_scale,
            "rollbacks": self.rollbacks,
            "models": {k: m.state_dict() for k, m in self.all_models().items()},
            "optimizers": {k: o.state_dict() for k, o in self.recipe.optimizers.items()},
            "recipe": self.recipe.state_dict(),
            "data": {name: stream.state_dict() for name, stream in self.streams.items()},
            "rng": rng,
            "specs": {k: s.to_dict() for k, s in self.recipe.specs.items()},
            "config": self.cfg.to_dict(),
        }

    def check_config(self, state: dict[str, Any]) -> None:
        """Refuse a checkpoint whose config differs from this run's in anything that changes the result
        (an edited config.json): one line naming the keys, instead of a 'size mismatch' traceback."""
        where = state.get("_path", "the checkpoint")
        saved_raw = dict(state.get("config") or {})
        if isinstance(saved_raw.get("model"), dict):  # a checkpoint written before the optimizer keys' rename
            saved_raw["model"] = upgrade_model_keys(saved_raw["model"], type(self.cfg.model))
        saved, now = _flatten(saved_raw), _flatten(self.cfg.to_dict())
        changed = [k for k in sorted(saved.keys() & now.keys()) if saved[k] != now[k]]
        changed = [k for k in changed if k not in CHANGEABLE_ON_RESUME and not k.startswith("train.health.")]
        if changed:
            shown = ", ".join(f"{k}: {saved[k]!r} in the checkpoint, {now[k]!r} now" for k in changed[:3])
            raise CheckpointError(
                f"the config of {self.run_dir} no longer matches {where} ({shown}); restore config.json, "
                f"or start a new run with the new settings"
            )

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, model in self.all_models().items():
            try:
                model.load_state_dict(state["models"][name])
            except (RuntimeError, KeyError) as err:
                first = str(err).strip().splitlines()[-1].strip()[:200]
                raise CheckpointError(
                    f"{state.get('_path', 'the checkpoint')} does not fit model {name} of this run's config "
                    f"({first}); restore config.json, or start a new run with the new settings"
                ) from None
        for name, opt in self.recipe.optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
        self.recipe.load_state_dict(state["recipe"])
        for name, stream in self.streams.items():
            stream.load_state_dict(state["data"][name])
        torch.set_rng_state(state["rng"]["torch"])
        if "cuda" in state["rng"] and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["rng"]["cuda"], self.device)
        self.recipe.generator.set_state(state["rng"]["noise"])
        self.step = int(state["step"])
        self.rollbacks = int(state.get("rollbacks", 0))
        self._set_lr_scale(float(state["lr_scale"]))

    def _set_lr_scale(self, scale: float) -> None:
        self.lr_scale = scale
        self._apply_lrs()

    def _apply_lrs(self) -> None:
        """The one place learning rates are written: initial rate x health scale x recipe schedule."""
        for name, opt in self.recipe.optimizers.items():
            factor = self.recipe.lr_factor(name, self.step, self.cfg.train.steps)
            for group, base in zip(opt.param_groups, self.base_lrs[name], strict=True):
                group["lr"] = base * self.lr_scale * factor

    def save_checkpoint(self) -> Path | None:
        if not self.dist.is_main:
            return None
        folder = self.run_dir / "checkpoints"
        path = ckpt.checkpoint_path(folder, self.step)
        ckpt.atomic_save(self.state_dict(), path)
        ckpt.prune(folder, self.cfg.train.keep_checkpoints, protect=(path,))
        return path

    # ------------------------------------------------------------------ the loop

    def train_step(self) -> dict[str, torch.Tensor]:
        """One step: every phase whose interval divides the step. Raises NonFiniteError on NaN/inf."""
        self.recipe.begin_step(self.step, self.cfg.train.steps)
        self._apply_lrs()
        batch = next(self.stream)
        batch.extra = {name: next(stream) for name, stream in self.streams.items() if name != "main"}
        logs: dict[str, torch.Tensor] = {}
        losses: list[tuple[str, torch.Tensor]] = []
        for phase in self.phases:
            if self.step % phase.interval:
                continue
            opt = self.recipe.optimizers[phase.optimizer]
            opt.zero_grad(set_to_none=True)
            with speed.autocast(self.device, self.amp_dtype if phase.autocast else None):
                loss, phase_logs = phase.run(batch)
            loss = loss.float()
            losses.append((phase.name, loss.detach()))
            params = [p for group in opt.param_groups for p in group["params"] if p.requires_grad]
            # gradients of this phase's parameters only: autograd then skips the other players'
            # weight gradients (D's in a G phase), which the textbook loop computes and throws away
            loss.backward(inputs=params)
            dist_utils.average_gradients(params, self.dist)
            opt.step()
            if phase.optimizer in self.recipe.ema_of:
                self._update_ema(phase.optimizer)
            logs.update(phase_logs)
        self._check_losses(losses)
        self.step += 1
        every, t = self.cfg.train.health.check_weights_every, self.cfg.train
        # always before a checkpoint is written, so a good state is what the health guard returns to
        saving = self.step % t.checkpoint_every == 0 or self.step == t.steps
        if saving or (every and self.step % every == 0):
            finite = speed.all_finite([p for m in self.recipe.models.values() for p in m.parameters()])
            if not dist_utils.all_true(finite, self.dist, self.device):
                raise NonFiniteError("a weight became NaN or inf")
        return logs

    def speed_settings(self) -> dict[str, Any]:
        """What the speed switches resolved to on this machine (log.jsonl's "started" event)."""
        return {
            "device": str(self.device),
            "threads": torch.get_num_threads() if self.device.type == "cpu" else None,
            "precision": "bf16" if self.amp_dtype == torch.bfloat16 else "fp32",
            "memory_format": "channels_last" if self.channels_last else "contiguous",
            "compiled": bool(self.compiled),
            "fused_optimizers": list(self.fused),
        }

    def _check_losses(self, losses: list[tuple[str, torch.Tensor]]) -> None:
        """One host-device sync per step, after all phases: a NaN/inf loss makes the step's updates
        NaN too, and the health guard then returns to the last checkpoint, which is what matters."""
        if not losses:
            return
        finite = bool(torch.isfinite(torch.stack([loss for _, loss in losses])).all())
        if not dist_utils.all_true(finite, self.dist, self.device):
            bad = [f"{name} loss is {loss.item()}" for name, loss in losses if not torch.isfinite(loss)]
            raise NonFiniteError(bad[0] if bad else "a loss on another process is NaN or inf")

    def _update_ema(self, name: str) -> None:
        decay = 0.0 if self.step < self.cfg.train.ema_start else self.cfg.train.ema_decay
        update_ema(self.ema[f"{name}_ema"], self.recipe.models[name], decay)

    def rollback(self, reason: str, logger: RunLogger | None) -> None:
        """The health guard: restore the last good checkpoint and lower every learning rate."""
        h = self.cfg.train.health
        failed_step = self.step
        if self.rollbacks >= h.max_retries:
            raise TrainingDiverged(
                f"training diverged at step {failed_step} ({reason}) after {self.rollbacks} rollbacks; "
                f"checkpoints in {self.run_dir / 'checkpoints'} are intact: lower the learning rates "
                f"({self._lr_advice()}), raise train.health.max_retries, or try --set model.loss=hinge"
            )
        state = ckpt.load_latest(self.run_dir / "checkpoints", self.device)
        if state is None:
            raise TrainingDiverged(
                f"training diverged at step {failed_step} ({reason}) before any checkpoint"
            )
        rollbacks = self.rollbacks + 1
        scale = self.lr_scale * h.lr_factor
        self.load_state_dict(state)
        self.rollbacks = rollbacks
        self._set_lr_scale(scale)
        warn(
            f"{reason} at step {failed_step}; rolled back to step {self.step} and scaled learning rates "
            f"by {h.lr_factor} (rollback {rollbacks} of at most {h.max_retries})"
        )
        if logger is not None:
            logger.event(failed_step, "rollback", reason=reason, to_step=self.step, lr_scale=scale)

    def _lr_advice(self) -> str:
        """`--set model.<key>=...` for this family's own learning-rate keys (their names differ)."""
        from ganforge.config import learning_rate_keys

        keys = learning_rate_keys(self.cfg.model)
        return " ".join(f"--set model.{k}=..." for k in keys) or "see the family's config"

    def _examples(self, n: int) -> Batch:
        """The first n training items of each stream (CPU, float), for fixed preview grids."""

        def first(d: ImageData) -> Batch:
            k = min(n, len(d))
            return Batch(
                real=to_float(d.images[:k]),
                labels=d.labels[:k] if d.labels is not None else None,
                target=to_float(d.targets[:k]) if d.targets is not None else None,
            )

        batch = first(self.data)
        batch.extra = {name: first(d) for name, d in self.datasets.items() if name != "main"}
        return batch

    def models_for_use(self) -> dict[str, torch.nn.Module]:
        """The models as used for previews and bundles: EMA copies in place of their sources."""
        return {name: self.ema.get(f"{name}_ema", model) for name, model in self.recipe.models.items()}

    def write_samples(self, path: Path) -> Path:
        with torch.no_grad():
            images = self.recipe.preview(self.models_for_use(), self.sample_inputs)
        return save_image(images, path, nrow=self.sample_inputs.get("nrow"))

    def _request_stop(self, signum: int, frame: Any) -> None:
        """Ctrl-C (SIGINT) or SIGTERM (Docker, Kubernetes, Slurm, systemd): finish the step, save, exit."""
        if self._stop.is_set():
            raise KeyboardInterrupt  # a second signal stops at once
        self.stop_signal = signum
        self._stop.set()

    def _resume_state(self, folder: Path) -> dict[str, Any] | None:
        """The newest loadable checkpoint; refuses a run none of whose checkpoints loads, unless starting
        over on purpose (they are then renamed aside, kept for inspection)."""
        if self.start_over:
            moved = ckpt.set_aside(folder, ".set-aside") if self.dist.is_main else []
            # kept for inspection; the run's log is cut back to step 0 below
            if moved:
                names = f"{len(moved)} checkpoint(s) renamed *.pt.set-aside"
                warn(f"starting {self.run_dir} over from step 0; {names}")
            dist_utils.barrier(self.dist)
            return None
        try:
            state = ckpt.load_latest(folder, self.device)
        except ckpt.UnreadableCheckpoints as err:
            raise ckpt.UnreadableCheckpoints(
                f"{err}; the run was not restarted: to start it over from step 0 on purpose, add --start-over"
            ) from None
        if state is not None:
            self.check_config(state)
        return state

    def fit(self) -> TrainResult:
        """Train to `cfg.train.steps`, resuming from the newest checkpoint in the run directory."""
        t = self.cfg.train
        folder = self.run_dir / "checkpoints"
        logger = self._start(folder)
        evaluator = self._evaluator() if self.dist.is_main and t.eval_every else None
        progress = TrainProgress(
            t.steps,
            self.step,
            self.global_batch,
            self.show_progress,
            every=t.sample_every,
            quiet=not self.dist.is_main,
        )
        with self._stop_on_signals():
            try:
                self._loop(folder, logger, evaluator, progress)
            finally:
                progress.close()
        return self._finish(folder, logger)

    def _start(self, folder: Path) -> RunLogger | None:
        """Resume from the newest checkpoint (or write step 0's), save config.json, open the log."""
        main = self.dist.is_main
        if main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            ckpt.clean_temp_files(folder)
        dist_utils.barrier(self.dist)  # every rank reads the same newest checkpoint
        state = self._resume_state(folder)
        if state is not None:
            self.load_state_dict(state)
        if main:
            self.cfg.save(self.run_dir / "config.json")
            if state is None:
                self.save_checkpoint()  # the health guard always has a good state to return to
        dist_utils.barrier(self.dist)
        # log lines past the checkpoint's step are redone by this run: dropped, so none appears twice
        logger = RunLogger(self.run_dir, self.tensorboard, resume_step=self.step) if main else None
        if logger is not None:
            logger.event(self.step, "started", **self.speed_settings())
        return logger

    @contextlib.contextmanager
    def _stop_on_signals(self) -> Iterator[None]:
        """Ctrl-C and SIGTERM ask the loop to stop after the current step (main thread only)."""
        previous: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                previous[signum] = signal.signal(signum, self._request_stop)
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _loop(self, folder: Path, logger: RunLogger | None, evaluator: Any, progress: TrainProgress) -> None:
        """Steps until `train.steps` or a stop request; a non-finite step rolls back (health guard)."""
        t = self.cfg.train
        sums: dict[str, float] = {}
        count = 0
        while self.step < t.steps and not self._stop.is_set():
            try:
                logs = self.train_step()
            except NonFiniteError as err:
                self.rollback(str(err), logger)
                sums, count = {}, 0
                continue
            for k, v in logs.items():  # summed on the device: no sync until a log line
                sums[k] = sums.get(k, 0.0) + (v.detach().float() if torch.is_tensor(v) else float(v))
            count += 1
            losses = None
            if self.step % t.log_every == 0 or self.step == t.steps:
                losses = {k: float(v) / count for k, v in sums.items()}
                if logger is not None:
                    extra = {"lr_scale": self.lr_scale, "images_per_second": progress.images_per_second}
                    logger.log(self.step, {**losses, **extra})
                sums, count = {}, 0
            progress.update(self.step, losses)
            self._after_step(folder, logger, evaluator)

    def _after_step(self, folder: Path, logger: RunLogger | None, evaluator: Any) -> None:
        """What `train.sample_every`, `eval_every` and `checkpoint_every` ask for at this step."""
        t = self.cfg.train
        if self.dist.is_main and self.step % t.sample_every == 0:
            self.write_samples(self.run_dir / "samples" / f"step-{self.step:06d}.png")
        if evaluator is not None and self.step % t.eval_every == 0:
            G = self.models_for_use()[self.recipe.generator_name]
            if evaluator(self.step, G, logger):  # improved on train.eval_metrics[0]
                ckpt.atomic_save(self.state_dict(), folder / "best.pt")
        if self.step % t.checkpoint_every == 0:
            self.save_checkpoint()

    def _finish(self, folder: Path, logger: RunLogger | None) -> TrainResult:
        """The last checkpoint; when the run completed, its held-out metrics, samples and bundle."""
        interrupted = self._stop.is_set() and self.step < self.cfg.train.steps
        result = TrainResult(self.run_dir, self.step, interrupted)
        if self.dist.is_main:
            if not ckpt.list_checkpoints(folder) or ckpt.list_checkpoints(folder)[-1][0] != self.step:
                self.save_checkpoint()
            if not interrupted:
                result.metrics = self.evaluate(logger)
                samples = self.write_samples(self.run_dir / "samples" / f"step-{self.step:06d}.png")
                result.bundle_dir = self.write_bundle(samples, result.metrics)
            if logger is not None:
                logger.event(self.step, "interrupted" if interrupted else "finished")
                logger.close()
        dist_utils.barrier(self.dist)
        return result

    def evaluate(self, logger: RunLogger | None) -> dict[str, float]:
        """The recipe's held-out metrics of the final models: logged, saved as metrics.json, printed."""
        try:
            with torch.no_grad():
                metrics = self.recipe.evaluate(self.models_for_use(), self.cfg)
        except GanforgeError as err:  # e.g. the held-out data went missing: still write the bundle
            warn(f"held-out evaluation failed ({err}); the bundle is written without metrics")
            return {}
        if metrics:
            # merged, so figures from `ganforge eval` in the same file survive
            update_metrics_json(self.run_dir / "metrics.json", self.step, dict(metrics))
            if logger is not None:
                logger.log(self.step, {k: float(v) for k, v in metrics.items()})
            shown = ", ".join(f"{k} {bundle.format_metric(v)}" for k, v in metrics.items())
            info(f"held-out metrics: {shown}")
        return metrics

    def _evaluator(self) -> Any:
        """Metrics every `train.eval_every` steps (see ganforge.metrics.training_eval)."""
        from ganforge.metrics.training_eval import TrainingEvaluator

        evaluator = TrainingEvaluator(self.cfg, self.run_dir, self.data, self.device)
        evaluator.check(self.models_for_use()[self.recipe.generator_name])
        evaluator.resume(self.step)
        return evaluator

    def write_bundle(self, samples: Path, metrics: dict[str, float] | None = None) -> Path:
        use = self.models_for_use()
        exported = {(f"{n}_ema" if f"{n}_ema" in self.ema else n): use[n] for n in self.recipe.exports}
        specs = {name: self.recipe.specs[name.removesuffix("_ema")] for name in exported}
        return bundle.write_bundle(
            self.run_dir / "bundle",
            config=self.cfg,
            models=exported,
            specs=specs,
            class_names=self.data.class_names,
            step=self.step,
            images_seen=self.step * self.global_batch,
            samples=samples,
            metrics=metrics,
            capabilities=self.recipe.bundle_capabilities(),
        )


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"train": {"steps": 5}} -> {"train.steps": 5}."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat
