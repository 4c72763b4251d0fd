"""The typer application and the entry point shared by `ganforge` and `python -m ganforge`."""

from __future__ import annotations

import sys

import typer

from ganforge.cli import classify as classify_cli
from ganforge.cli import directions as directions_cli
from ganforge.cli import edit as edit_cli
from ganforge.cli import eval as eval_cli
from ganforge.cli import generate, info, serve, share, train, translate
from ganforge.cli import mix as mix_cli
from ganforge.cli import upscale as upscale_cli
from ganforge.console import console
from ganforge.errors import GanforgeError
from ganforge.memory import keep_freed_memory

app = typer.Typer(
    name="ganforge",
    help="Train, sample and explore generative adversarial networks.\n\n"
    "Start with `ganforge train` (DCGAN on offline MNIST digits, about 2 minutes on 2 CPU cores).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command("train")(train.train)
app.command("sample")(generate.sample)
app.command("interpolate")(generate.interpolate)
app.command("eval")(eval_cli.eval_)
app.command("mix")(mix_cli.mix)
app.command("serve")(serve.serve)
app.command("translate")(translate.translate)
app.command("upscale")(upscale_cli.upscale)
app.command("classify")(classify_cli.classify)
app.command("push")(share.push)
app.command("export")(share.export)
app.command("project")(share.project)
app.command("report")(share.report)
app.command("directions")(directions_cli.directions)
app.command("edit")(edit_cli.edit)
app.add_typer(info.data_app, name="data")
app.add_typer(info.models_app, name="models")
app.add_typer(info.presets_app, name="presets")


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; a `GanforgeError` becomes one `error:` line and exit status 1."""
    keep_freed_memory()  # large tensors reuse freed memory instead of faulting fresh pages in
    try:
        app(args=argv, prog_name="ganforge", standalone_mode=True)
    except GanforgeError as err:
        console.print(f"[red]error:[/red] {err}", soft_wrap=True, emoji=False)
        sys.exit(1)
