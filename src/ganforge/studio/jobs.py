"""Jobs: any studio request run in the background, with progress, cancel and a result to fetch.

`POST /api/jobs/<route>` takes exactly the body of `POST /api/<route>` (`generate`, `breed`,
`interpolate`, `mix`, `project`, `translate`, `colorize`, `upscale`, `inpaint`, `edit`, ...). The route
checks the request as usual (bad input still gets its 4xx at once); where it would run the model and
wait, the work goes to a job board instead and the answer is `202 {"id", "status", ...}`. Then:

- `GET /api/jobs/{id}?wait=S&since=V`: status, `done`/`total` (tiles of an upscale, steps of a
  projection; 0/0 when the work has no steps), waiting up to S seconds for a change past version V;
- `GET /api/jobs/{id}/result`: the route's result (JSON, or the PNG/GIF bytes), once done;
- `DELETE /api/jobs/{id}`: cancel. A queued job never starts; a running one stops at its next
  progress report (between tiles, between optimizer steps); work without steps runs out and is dropped.

Jobs run on two lanes of one worker each, so a long upload task (a 12-MP upscale, a projection) does
not hold up breeding and generating: `long` for image-to-image and projection, `quick` for the rest.
Pipelines report progress through `report_progress(done, total)`, which also raises `Cancelled`.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response

from ganforge.errors import GanforgeError
from ganforge.studio.limits import Busy, NotFound, StudioError

LONG_ROUTES = ("project", "translate", "colorize", "upscale", "inpaint")
MAX_KEPT = 16  # finished jobs whose results stay fetchable; older ones are forgotten
MAX_WAITING = 16  # jobs waiting per lane; more get a 503 "busy"
POLL_S = 0.02

_submitting: contextvars.ContextVar[str | None] = contextvars.ContextVar("ganforge_job_lane", default=None)
_running = threading.local()  # .job: the Job this worker thread is running


class Cancelled(StudioError):
    """Raised inside a job's work when the user cancelled it."""

    status = 409


class Submitted(Exception):
    """Raised by the job-aware queue in place of running the work: the request became job `job_id`."""

    def __init__(self, job_id: str):
        super().__init__(job_id)
        self.job_id = job_id


def report_progress(done: int, total: int) -> None:
    """Progress of the running job (no-op outside a job); raises `Cancelled` once it is cancelled.
    Pipelines take it as their `progress` callback, so a cancel stops a tiled run between tiles."""
    job: Job | None = getattr(_running, "job", None)
    if job is None:
        return
    if job.cancel_requested:
        raise Cancelled("cancelled")
    job.update(done, total)


@dataclass
class Job:
    id: str
    route: str
    lane: str
    status: str = "queued"  # queued, running, done, error, cancelled
    done: int = 0
    total: int = 0
    version: int = 0  # bumped on every change, for long polls
    created: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished: float | None = None
    result: Any = None
    error: str | None = None
    error_status: int = 500
    cancel_requested: bool = False

    def update(self, done: int, total: int) -> None:
        self.done, self.total = int(done), int(total)
        self.version += 1

    def set(self, status: str) -> None:
        self.status = status
        if status == "running":
            self.started = time.monotonic()
        elif status in ("done", "error", "cancelled"):
            self.finished = time.monotonic()
        self.version += 1

    @property
    def finished_ok(self) -> bool:
        return self.status in ("done", "error", "cancelled")

    def info(self, ahead: int = 0) -> dict[str, Any]:
        now = time.monotonic()
        out = {
            "id": self.id,
            "route": self.route,
            "lane": self.lane,
            "status": self.status,
            "done": self.done,
            "total": self.total,
            "version": self.version,
            "elapsed_s": round((self.finished or now) - (self.started or now), 3),
        }
        if self.status == "queued":
            out["ahead"] = ahead
        if self.error is not None:
            out["error"] = self.error
        return out


class JobBoard:
    """Jobs by id, run one at a time per lane on worker threads."""

    def __init__(self, lanes: tuple[str, ...] = ("quick", "long"), max_kept: int = MAX_KEPT):
        self.max_kept = max_kept
        self.jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._executors = {
            lane: ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"ganforge-job-{lane}")
            for lane in lanes
        }

    def submit(self, route: str, lane: str, work: Callable[[], Any]) -> Job:
        with self._lock:
            waiting = sum(1 for j in self.jobs.values() if j.lane == lane and j.status == "queued")
            if waiting >= MAX_WAITING:
                raise Busy(f"the studio is busy ({waiting} jobs waiting); retry in a moment")
            job = Job(uuid.uuid4().hex[:12], route, lane)
            self.jobs[job.id] = job
            self._forget_old()
        self._executors[lane].submit(self._run, job, work)
        return job

    def _forget_old(self) -> None:
        finished = [j for j in self.jobs.values() if j.finished_ok]
        for job in finished[: max(0, len(finished) - self.max_kept)]:
            del self.jobs[job.id]

    def _run(self, job: Job, work: Callable[[], Any]) -> None:
        if job.cancel_requested:
            job.set("cancelled")
            return
        job.set("running")
        _running.job = job
        try:
            result = work()
        except Cancelled:
            job.set("cancelled")
        except StudioError as err:
            job.error, job.error_status = str(err), err.status
            job.set("error")
        except GanforgeError as err:
            job.error, job.error_status = str(err), 400
            job.set("error")
        except Exception as err:  # a bug or a failing model: the job fails, the server goes on
            job.error, job.error_status = f"internal error ({type(err).__name__}): {str(err)[:200]}", 500
            job.set("error")
        else:
            if job.cancel_requested:  # work without progress steps ran out: drop its result
                job.set("cancelled")
            else:
                job.result = result
                job.set("done")
        finally:
            _running.job = None

    def get(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise NotFound(f"no job {job_id!r} (finished jobs are kept for the last {self.max_kept})")
        return job

    def ahead(self, job: Job) -> int:
        """Jobs before this one on its lane that have not finished."""
        count = 0
        for other in self.jobs.values():
            if other is job:
                break
            if other.lane == job.lane and other.status in ("queued", "running"):
                count += 1
        return count

    def cancel(self, job_id: str) -> Job:
        job = self.get(job_id)
        if not job.finished_ok:
            job.cancel_requested = True
            if job.status == "queued":
                job.set("cancelled")
            else:
                job.version += 1
        return job

    def close(self) -> None:
        for job in self.jobs.values():
            job.cancel_requested = True
        for executor in self._executors.values():
            executor.shutdown(wait=True, cancel_futures=True)


class JobAwareQueue:
    """Wraps the app's InferenceQueue: inside `POST /api/jobs/<route>` the work becomes a job instead of
    being run and awaited; everywhere else it runs as before."""

    def __init__(self, inner: Any, board: JobBoard):
        self.inner = inner
        self.board = board

    async def run(self, work: Callable[[], Any]) -> Any:
        route = _submitting.get()
        if route is None:
            return await self.inner.run(work)
        lane = "long" if route in LONG_ROUTES else "quick"
        raise Submitted(self.board.submit(route, lane, work).id)

    def __getattr__(self, name: str) -> Any:  # pending, completed, max_queue, timeout_s, close
        return getattr(self.inner, name)


class JobSubmitPath:
    """ASGI middleware: `POST /api/jobs/<route>` is served by `POST /api/<route>` in job mode."""

    def __init__(self, app: Callable[..., Awaitable[None]]):
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        parts = path.split("/")  # ["", "api", "jobs", route]
        if (
            scope.get("method") == "POST"
            and len(parts) == 4
            and parts[:3] == ["", "api", "jobs"]
            and parts[3]
        ):
            scope = dict(scope, path=f"/api/{parts[3]}", raw_path=f"/api/{parts[3]}".encode())
            token = _submitting.set(parts[3])
            try:
                await self.app(scope, receive, send)
            finally:
                _submitting.reset(token)
            return
        await self.app(scope, receive, send)


router = APIRouter(prefix="/api/jobs")


def _board(request: Request) -> JobBoard:
    return request.app.state.jobs


def _media_type(data: bytes) -> str:
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return "image/png"


@router.get("", summary="Jobs the studio holds, oldest first")
async def list_jobs(request: Request) -> dict[str, Any]:
    board = _board(request)
    return {"jobs": [job.info(board.ahead(job)) for job in list(board.jobs.values())]}


@router.get("/{job_id}", summary="A job's status and progress (long poll with wait and since)")
async def job_status(
    job_id: str,
    request: Request,
    wait: Annotated[float, Query(ge=0.0, le=10.0, description="seconds to wait for a change")] = 0.0,
    since: Annotated[int, Query(ge=0, description="the version last seen")] = 0,
) -> dict[str, Any]:
    board = _board(request)
    job = board.get(job_id)
    deadline = time.monotonic() + wait
    while job.version <= since and not job.finished_ok and time.monotonic() < deadline:
        await asyncio.sleep(POLL_S)
    return job.info(board.ahead(job))


@router.get("/{job_id}/result", summary="The finished job's result: the route's JSON, PNG or GIF")
async def job_result(job_id: str, request: Request) -> Response:
    job = _board(request).get(job_id)
    if job.status == "error":
        return JSONResponse({"error": job.error}, status_code=job.error_status)
    if job.status == "cancelled":
        return JSONResponse({"error": "the job was cancelled"}, status_code=410)
    if job.status != "done":
        return JSONResponse({"error": f"the job is {job.status}; poll /api/jobs/{job.id}"}, status_code=409)
    if isinstance(job.result, bytes):
        return Response(job.result, media_type=_media_type(job.result))
    return JSONResponse(job.result)


@router.delete("/{job_id}", summary="Cancel a job")
async def cancel_job(job_id: str, request: Request) -> dict[str, Any]:
    board = _board(request)
    job = board.cancel(job_id)
    return job.info(board.ahead(job))


def install(app: FastAPI) -> None:
    """Give `app` the job board, its routes and the `/api/jobs/<route>` submit path."""
    board = JobBoard()
    app.state.jobs = board
    app.state.queue = JobAwareQueue(app.state.queue, board)

    async def submitted(request: Request, err: Submitted) -> JSONResponse:
        job = board.get(err.job_id)
        return JSONResponse(job.info(board.ahead(job)), status_code=202)

    app.add_exception_handler(Submitted, submitted)
    app.add_middleware(JobSubmitPath)
    app.include_router(router)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[Any]:
        async with inner(app) as state:
            yield state
        board.close()

    app.router.lifespan_context = lifespan
