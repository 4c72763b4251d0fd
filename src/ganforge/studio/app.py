"""The studio's FastAPI application: the page, its static files and the JSON/PNG API under /api/.

Every error is a JSON body `{"error": "..."}` with a 4xx status (503 when busy or too slow), and
the server keeps serving. Static files come only from the packaged `static/` folder, looked up by
exact name in a table made at start, so no request can reach any other file.
"""

from __future__ import annotations

import mimetypes
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

import torch
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ganforge import __version__
from ganforge.errors import GanforgeError
from ganforge.studio.limits import BodyLimitMiddleware, CatchAllMiddleware, StudioError, StudioLimits
from ganforge.studio.models import ModelManager
from ganforge.studio.queue import InferenceQueue

# The page may load nothing from anywhere else: it works offline and cannot be made to call out.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
    "style-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


def static_files() -> dict[str, tuple[bytes, str]]:
    """name -> (bytes, media type) of every file shipped in `ganforge/studio/static/`."""
    folder = resources.files("ganforge.studio") / "static"
    table = {}
    for entry in folder.iterdir():
        if entry.is_file() and not entry.name.startswith("."):
            media = mimetypes.guess_type(entry.name)[0] or "application/octet-stream"
            if media.startswith("text/") or media == "application/javascript":
                media += "; charset=utf-8"
            table[entry.name] = (entry.read_bytes(), media)
    return table


def error_response(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers={"X-Content-Type-Options": "nosniff"})


def _validation_message(err: RequestValidationError) -> str:
    first = err.errors()[0] if err.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "request"
    return f"invalid request: {where}: {first.get('msg', 'invalid value')}"


def create_app(
    models: ModelManager | list[str | Path],
    limits: StudioLimits | None = None,
    device: torch.device | str = "cpu",
) -> FastAPI:
    """The studio app over `models` (a ModelManager, or bundle/run paths to load once now)."""
    from ganforge.studio import edit_routes, routes
    from ganforge.studio.jobs import install as install_jobs
    from ganforge.studio.mix_routes import router as mix_router
    from ganforge.studio.project_routes import router as project_router

    limits = limits or StudioLimits()
    manager = models if isinstance(models, ModelManager) else ModelManager(models, device)
    queue = InferenceQueue(limits.max_queue, limits.timeout_s)
    files = static_files()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        queue.close()

    app = FastAPI(
        title="ganforge studio",
        version=__version__,
        description="Generate, breed, interpolate and translate images with trained ganforge models.",
        openapi_url="/api/openapi.json",
        docs_url=None,  # the stock docs pages load scripts from a CDN; the schema is enough offline
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.manager = manager
    app.state.limits = limits
    app.state.queue = queue
    app.add_middleware(BodyLimitMiddleware, max_bytes=limits.max_upload_bytes)
    app.add_middleware(CatchAllMiddleware)

    @app.exception_handler(StudioError)
    async def studio_error(request: Request, err: StudioError) -> JSONResponse:
        return error_response(err.status, str(err))

    @app.exception_handler(GanforgeError)
    async def ganforge_error(request: Request, err: GanforgeError) -> JSONResponse:
        return error_response(400, str(err))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, err: RequestValidationError) -> JSONResponse:
        return error_response(422, _validation_message(err))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException) -> JSONResponse:
        message = "not found" if err.status_code == 404 else str(err.detail)
        return error_response(err.status_code, message)

    @app.get("/", include_in_schema=False)
    async def page() -> Response:
        body, media = files["index.html"]
        return Response(body, media_type=media, headers=PAGE_HEADERS)

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        if name not in files:  # exact names only: "..", "%2e%2e", "a/b" never match
            return error_response(404, "not found")
        body, media = files[name]
        return Response(body, media_type=media, headers=PAGE_HEADERS)

    app.include_router(routes.router)
    app.include_router(edit_routes.router)  # genes: /api/directions, /api/edit(.png), /api/edit/breed
    app.include_router(mix_router)
    app.include_router(project_router)
    install_jobs(app)  # POST /api/jobs/<route>: any route above as a background job with progress and cancel
    return app
