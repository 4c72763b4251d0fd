"""Running the studio with uvicorn: in the foreground (`ganforge serve`) or in a background thread on
a port the OS picks (tests and benchmarks talk to it over real HTTP on loopback)."""

from __future__ import annotations

import ipaddress
import threading
import time
from typing import Any

from ganforge.studio.limits import StudioError

LOOPBACK = "127.0.0.1"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def uvicorn_config(app: Any, host: str, port: int, log_level: str = "warning") -> Any:
    import uvicorn

    from ganforge.studio.guard import guarded_protocol
    from ganforge.studio.limits import StudioLimits

    limits = getattr(getattr(app, "state", None), "limits", None) or StudioLimits()
    if not 0 <= port <= 65535:
        raise StudioError(f"--port {port} is not a port number (1..65535)")
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=log_level in ("info", "debug"),
        timeout_keep_alive=5,  # idle connections are closed, so slow or stuck clients hold nothing
        # No connection-count 503 (uvicorn's limit_concurrency counts half-open connections too, so 256
        # clients that never finish a header locked everyone out): the guarded protocol drops clients
        # that do not finish their request in time and makes room by dropping the slowest. Inference
        # load is bounded by the inference queue (503 "busy").
        http=guarded_protocol(limits.header_timeout_s, limits.body_timeout_s, limits.max_connections),
        server_header=False,
    )


class StudioServer:
    """`with StudioServer(app) as server: httpx.get(server.url + "/api/models")`; port 0 picks a free one."""

    def __init__(self, app: Any, host: str = LOOPBACK, port: int = 0, log_level: str = "warning"):
        import uvicorn

        self.server = uvicorn.Server(uvicorn_config(app, host, port, log_level))
        self.thread = threading.Thread(target=self.server.run, name="ganforge-studio", daemon=True)
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_s: float = 30.0) -> StudioServer:
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise StudioError(f"the studio did not start on {self.host}:{self.port}")
            time.sleep(0.02)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)

    def __enter__(self) -> StudioServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
