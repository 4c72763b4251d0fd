"""`ganforge serve`: the studio (web page + HTTP API) over trained models."""

from __future__ import annotations

from typing import Annotated

import typer

from ganforge.console import info, warn
from ganforge.errors import ConfigError


def serve(
    models: Annotated[list[str], typer.Argument(help="bundle folders or run directories to serve")],
    host: Annotated[
        str, typer.Option(help="address to listen on; 0.0.0.0 opens it to the network")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 7860,
    device: Annotated[str, typer.Option(help="cpu, cuda, mps")] = "cpu",
    max_upload_mb: Annotated[float, typer.Option(help="largest request body (uploads) in MB")] = 10.0,
    max_pixels: Annotated[int, typer.Option(help="largest uploaded image, width * height")] = 1024 * 1024,
    max_images: Annotated[int, typer.Option(help="most images per generate or breed request")] = 64,
    timeout: Annotated[float, typer.Option(help="seconds a request may wait for and run inference")] = 60.0,
    log_level: Annotated[str, typer.Option(help="uvicorn log level: warning, info, debug")] = "info",
) -> None:
    """Serve the studio: generate, breed, interpolate and translate images in a browser, or call the
    JSON/PNG API under /api/ (schema at /api/openapi.json).

    Examples:

      ganforge serve runs/00000-dcgan-mnist

      ganforge serve runs/00000-dcgan-mnist runs/00001-cdcgan-mnist --port 8000

      curl -s 'http://127.0.0.1:7860/api/generate.png?seed=42&scale=8' -o digit.png
    """
    import uvicorn

    from ganforge.studio import StudioLimits, create_app
    from ganforge.studio.server import is_loopback, uvicorn_config

    if max_upload_mb <= 0:
        raise ConfigError("--max-upload-mb must be positive")
    limits = StudioLimits(
        max_upload_bytes=int(max_upload_mb * 1024 * 1024),
        max_pixels=max_pixels,
        max_images=max_images,
        timeout_s=timeout,
    )
    app = create_app(models, limits, device)
    loaded = app.state.manager.infos()
    for m in loaded:
        info(f"  {m['name']}: {m['recipe']}, {', '.join(m['capabilities'])}")
    if not is_loopback(host):
        warn(f"listening on {host}: anyone who can reach this machine can use the studio")
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    info(f"ganforge studio: http://{shown}:{port}/  ({len(loaded)} model(s); Ctrl-C to stop)")
    uvicorn.Server(uvicorn_config(app, host, port, log_level)).run()
