"""One inference worker for the whole server: requests queue for it, so the event loop stays free to
answer other requests (the page, /api/models, errors) while models run, memory stays bounded, and
results do not depend on what else is running. Each job is batched on its own (all of a request's
images go through the model together)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from ganforge.studio.limits import Busy

T = TypeVar("T")


class InferenceQueue:
    """Runs jobs one at a time on a worker thread; at most `max_queue` may wait, each at most `timeout_s`."""

    def __init__(self, max_queue: int, timeout_s: float):
        self.max_queue = max_queue
        self.timeout_s = timeout_s
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ganforge-inference")
        self._lock = threading.Lock()
        self._pending = 0
        self.completed = 0

    @property
    def pending(self) -> int:
        return self._pending

    async def run(self, job: Callable[[], T]) -> T:
        """Run `job` on the worker and return its result, or raise `Busy` (503) when the queue is full
        or the job has not finished within the timeout. Exceptions from the job pass through."""
        with self._lock:
            if self._pending >= self.max_queue:
                raise Busy(f"the studio is busy ({self._pending} requests waiting); retry in a moment")
            self._pending += 1
        future = self._executor.submit(job)
        try:
            result = await asyncio.wait_for(asyncio.wrap_future(future), self.timeout_s)
        except TimeoutError:
            future.cancel()  # drops it if it has not started; a running job finishes and is discarded
            raise Busy(
                f"the request did not finish within {self.timeout_s:g} s; ask for fewer or smaller images"
            ) from None
        finally:
            with self._lock:
                self._pending -= 1
        self.completed += 1
        return result

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
