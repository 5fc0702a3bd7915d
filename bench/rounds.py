"""Interleaved rounds: every round of an endpoint sits between two rounds of the reference, so a busy neighbour
slows both and the ratio survives it. Each round also samples the CPU time of the server's worker processes and of
the PostgreSQL backends serving the bench database (``/proc/<pid>/stat``; Linux, same host) and the bench
middleware's ``X-Bench-Sql`` statement counts."""

import os
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias

from loadgen import PreparedRequest, Result, run

SQL_HEADER = "X-Bench-Sql"
# A request, or what builds it when it is sent (a signed body whose iat must be fresh).
Request: TypeAlias = PreparedRequest | Callable[[], PreparedRequest]
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    # Fields after the command name: state is index 0, ppid 1, utime 11, stime 12 (proc(5) fields 3, 4, 14, 15).
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int(_stat(int(entry.name))[1]) == parent:
                    found.append(int(entry.name))
            except (OSError, IndexError):
                continue
    return found


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    seconds = {}
    for pid in pids:
        try:
            fields = _stat(pid)
        except OSError:
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
    return seconds


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())


@dataclass
class Round:
    result: Result
    reference_rps: float
    cpu_s: dict[str, float]

    @property
    def ratio(self) -> float:
        return self.result.rps / self.reference_rps if self.reference_rps else 0.0


@dataclass
class Endpoint:
    name: str
    rounds: list[Round] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(len(r.result.latencies_ms) for r in self.rounds)

    def ratios(self) -> list[float]:
        return [r.ratio for r in self.rounds]

    def percentile(self, p: float) -> float:
        pooled = Result(self.name, [ms for r in self.rounds for ms in r.result.latencies_ms])
        return pooled.percentile(p)

    def statuses(self) -> dict[int, int]:
        total: dict[int, int] = {}
        for r in self.rounds:
            for status, count in r.result.statuses.items():
                total[status] = total.get(status, 0) + count
        return dict(sorted(total.items()))

    def cpu_ms_per_request(self, side: str) -> float:
        return 1000 * sum(r.cpu_s.get(side, 0.0) for r in self.rounds) / max(self.requests, 1)

    def statements(self) -> tuple[float, float]:
        """Mean statements per request, ours and the sandbox bank's (exact for one endpoint; a blend for mixed)."""
        pairs = [v.split(";") for r in self.rounds for v in r.result.header_values if ";" in v]
        if not pairs:
            return 0.0, 0.0
        return statistics.fmean(int(a) for a, _ in pairs), statistics.fmean(int(b) for _, b in pairs)

    def bodies(self) -> list[bytes]:
        return [body for r in self.rounds for body in r.result.bodies]

    def summary(self) -> str:
        ratios = self.ratios()
        q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
        ours, sandbox = self.statements()
        return (
            f"{self.name:<30} {statistics.median(ratios):>6.1%} of reference (rounds {min(ratios):.1%}-"
            f"{max(ratios):.1%}, IQR {q[0]:.1%}-{q[2]:.1%}, {len(ratios)} rounds)  p50 {self.percentile(50):5.1f} ms  "
            f"p95 {self.percentile(95):5.1f} ms  CPU/req web {self.cpu_ms_per_request('web'):5.1f} ms "
            f"PG {self.cpu_ms_per_request('pg'):4.1f} ms bank {self.cpu_ms_per_request('bank'):4.1f} ms  "
            f"SQL/req {ours:.1f} + {sandbox:.1f} sandbox  statuses {self.statuses()}"
        )


@dataclass
class Driver:
    host: str
    port: int
    concurrency: int
    reference: Callable[[int], list[PreparedRequest]]
    reference_size: int
    # Named groups of processes whose CPU is charged to each round (web workers, PostgreSQL backends, the bank).
    processes: dict[str, Callable[[], list[int]]]
    reference_rounds: Endpoint = field(default_factory=lambda: Endpoint("GET reference (1 query + PS256)"))
    _last_reference: Round | None = None

    def _sample(self) -> dict[str, dict[int, float]]:
        return {side: cpu_seconds(pids()) for side, pids in self.processes.items()}

    def _round(self, name: str, requests: Sequence[Request], keep_bodies: bool) -> tuple[Result, dict[str, float]]:
        before = self._sample()
        result = run(
            name,
            requests,
            host=self.host,
            port=self.port,
            concurrency=self.concurrency,
            keep_bodies=keep_bodies,
            header=SQL_HEADER,
        )
        after = self._sample()
        return result, {side: cpu_delta(before[side], after[side]) for side in after}

    def _reference_round(self) -> Round:
        result, cpu = self._round("reference", self.reference(self.reference_size), False)
        measured = Round(result, result.rps, cpu)
        self.reference_rounds.rounds.append(measured)
        self._last_reference = measured
        return measured

    def interleaved(
        self, name: str, requests: Sequence[Request], rounds: int, *, keep_bodies: bool = False
    ) -> Endpoint:
        """``requests`` in ``rounds`` chunks, each between two reference rounds; a round's ratio is its req/s over
        the mean of its two neighbours'. A request given as a callable is built when it is sent (loadgen.run)."""
        endpoint = Endpoint(name)
        size = -(-len(requests) // rounds)
        for start in range(0, len(requests), size):
            before = self._last_reference or self._reference_round()
            result, cpu = self._round(name, requests[start : start + size], keep_bodies)
            after = self._reference_round()
            endpoint.rounds.append(Round(result, (before.result.rps + after.result.rps) / 2, cpu))
        return endpoint
