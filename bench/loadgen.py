"""A small closed-loop HTTP load generator: N keep-alive connections replaying prepared requests.

Requests are prepared up front (signing is the client's cost, not the server's), then sent by ``concurrency``
threads, each on its own persistent connection. Prints nothing; returns the figures.
"""

import http.client
import queue
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class PreparedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None = None


@dataclass
class Result:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    elapsed_s: float = 0.0
    bodies: list[bytes] = field(default_factory=list)
    header_values: list[str] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return len(self.latencies_ms) / self.elapsed_s if self.elapsed_s else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    def line(self) -> str:
        return (
            f"{self.name:<38} {len(self.latencies_ms):>6} req {self.rps:>8.1f} req/s  "
            f"p50 {self.percentile(50):>6.1f} ms  p95 {self.percentile(95):>6.1f} ms  "
            f"p99 {self.percentile(99):>6.1f} ms  mean {statistics.fmean(self.latencies_ms or [0]):>6.1f} ms  "
            f"statuses {dict(sorted(self.statuses.items()))}"
        )


def run(
    name: str,
    requests: Sequence[PreparedRequest | Callable[[], PreparedRequest]],
    *,
    host: str,
    port: int,
    concurrency: int,
    keep_bodies: bool = False,
    header: str | None = None,
) -> Result:
    """Sends ``requests`` on ``concurrency`` keep-alive connections; with ``header``, collects that response
    header's values (the bench's statement counts). A request given as a callable is built by the worker that sends
    it, just before sending (outside its latency): a signed body's ``iat`` must be within the server's tolerance
    (60 s) when it arrives, and on a loaded machine one round can take longer than that."""
    work: queue.Queue[tuple[int, PreparedRequest | Callable[[], PreparedRequest]]] = queue.Queue()
    for index, request in enumerate(requests):
        work.put((index, request))
    result = Result(name)
    bodies: list[bytes] = [b""] * len(requests)
    lock = threading.Lock()

    def worker() -> None:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        local_latencies: list[float] = []
        local_statuses: dict[int, int] = {}
        local_headers: list[str] = []
        while True:
            try:
                index, queued = work.get_nowait()
            except queue.Empty:
                break
            request = queued() if callable(queued) else queued
            started = time.perf_counter()
            conn.request(request.method, request.path, body=request.body, headers=request.headers)
            response = conn.getresponse()
            body = response.read()
            local_latencies.append((time.perf_counter() - started) * 1000)
            local_statuses[response.status] = local_statuses.get(response.status, 0) + 1
            if keep_bodies:
                bodies[index] = body
            if header is not None:
                local_headers.append(response.getheader(header, ""))
            if response.getheader("connection", "").lower() == "close":
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=30)
        conn.close()
        with lock:
            result.latencies_ms.extend(local_latencies)
            result.header_values.extend(local_headers)
            for status, count in local_statuses.items():
                result.statuses[status] = result.statuses.get(status, 0) + count

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.elapsed_s = time.perf_counter() - started
    result.bodies = bodies
    return result
