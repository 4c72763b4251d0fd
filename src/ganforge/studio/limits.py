"""The studio's limits and the errors a request can get: every one becomes a 4xx (or 503) JSON body."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException

from ganforge.errors import GanforgeError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@dataclass(frozen=True)
class StudioLimits:
    max_upload_bytes: int = 10 * 1024 * 1024  # whole request body, uploads included
    max_pixels: int = 1024 * 1024  # an uploaded image's width * height, read from its header
    max_images: int = 64  # images per generate or breed request
    max_frames: int = 64  # frames per interpolation
    timeout_s: float = 60.0  # a request waiting for or running inference longer gets a 503
    max_queue: int = 32  # inference jobs waiting at once; more get a 503 "busy"
    max_output_pixels: int = (
        16 * 1024 * 1024
    )  # pixels of one generated PNG or GIF (all frames), after scaling
    header_timeout_s: float = 5.0  # a client must send its request line and headers within this
    body_timeout_s: float = 10.0  # ... and its body within this after the headers (10 MB at 1 MB/s)
    max_connections: int = 512  # open connections; beyond, the oldest one still owing its request is dropped

    def __post_init__(self) -> None:
        for key in (
            "max_upload_bytes",
            "max_pixels",
            "max_images",
            "max_frames",
            "max_queue",
            "max_output_pixels",
            "max_connections",
        ):
            if getattr(self, key) < 1:
                raise StudioError(f"studio limit {key}={getattr(self, key)} must be at least 1")
        for key in ("timeout_s", "header_timeout_s", "body_timeout_s"):
            if not getattr(self, key) > 0:
                raise StudioError(f"studio limit {key}={getattr(self, key)} must be positive")


class StudioError(GanforgeError):
    """A request the studio refuses; `status` is the HTTP status it answers with."""

    status = 400

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        if status is not None:
            self.status = status


class BadImage(StudioError):
    """An upload that is not a usable image."""


class NotFound(StudioError):
    status = 404


class Busy(StudioError):
    status = 503


def json_error_body(message: str) -> bytes:
    return json.dumps({"error": message}).encode()


class BodyLimitMiddleware:
    """Refuses request bodies over `max_bytes` with a 413 JSON error, before they are parsed.

    A declared Content-Length over the limit is refused at once; a body that grows past it while
    streaming (chunked uploads, or a lying header) is cut off as soon as it does."""

    def __init__(self, app: Callable[..., Awaitable[None]], max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    def _message(self) -> str:
        mb = self.max_bytes / (1024 * 1024)
        return f"the request body is over the studio's limit of {mb:.1f} MB; send a smaller image"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                await self._reply(send, 400, "Content-Length is not a number")
                return
            if too_big:
                await self._reply(send, 413, self._message())
                return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(413, self._message())
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._reply(send, 413, self._message())

    @staticmethod
    async def _reply(send: Send, status: int, message: str) -> None:
        body = json_error_body(message)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class BodyTooLarge(HTTPException):
    """Raised while reading a body that outgrows the limit; an HTTPException so that the framework's
    body parsing passes it on (as a 413) instead of turning it into a generic 400."""


class CatchAllMiddleware:
    """Turns an unexpected exception (a bug, or a model that fails) into a JSON 500 on the same
    connection, logs its traceback, and lets the server go on serving."""

    def __init__(self, app: Callable[..., Awaitable[None]]):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as err:
            logging.getLogger("ganforge.studio").exception("request %s failed", scope.get("path"))
            if not started:
                message = f"internal error ({type(err).__name__}): {str(err)[:200]}"
                await BodyLimitMiddleware._reply(send, 500, message)
