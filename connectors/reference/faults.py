"""The reference bank's fault switches (``/_faults``, described in ``connectors.reference.server``)."""

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Faults:
    """The fault switches, shared by every handler thread (guarded by ``lock``)."""

    latency_seconds: float = 0.0
    error_next: int = 0
    error_status: int = 503
    drop_next: int = 0
    drop_after_processing_next: int = 0
    error_after_processing_next: int = 0
    down: bool = False
    tamper_next: int = 0
    wrong_key_next: int = 0
    routes: set[str] = field(default_factory=set)
    calls: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def update(self, body: dict[str, Any]) -> None:
        with self.lock:
            if "latencySeconds" in body:
                self.latency_seconds = float(body["latencySeconds"])
            if "errorNext" in body:
                self.error_next = int(body["errorNext"])
            if "errorStatus" in body:
                self.error_status = int(body["errorStatus"])
            if "dropNext" in body:
                self.drop_next = int(body["dropNext"])
            if "dropAfterProcessingNext" in body:
                self.drop_after_processing_next = int(body["dropAfterProcessingNext"])
            if "errorAfterProcessingNext" in body:
                self.error_after_processing_next = int(body["errorAfterProcessingNext"])
            if "down" in body:
                self.down = bool(body["down"])
            if "tamperNext" in body:
                self.tamper_next = int(body["tamperNext"])
            if "wrongKeyNext" in body:
                self.wrong_key_next = int(body["wrongKeyNext"])
            if "routes" in body:
                self.routes = {str(route) for route in body["routes"] or []}

    def clear(self) -> None:
        with self.lock:
            self.latency_seconds = 0.0
            self.error_next = self.drop_next = self.drop_after_processing_next = self.error_after_processing_next = 0
            self.tamper_next = self.wrong_key_next = 0
            self.error_status = 503
            self.down = False
            self.routes = set()

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "latencySeconds": self.latency_seconds,
                "errorNext": self.error_next,
                "errorStatus": self.error_status,
                "dropNext": self.drop_next,
                "dropAfterProcessingNext": self.drop_after_processing_next,
                "errorAfterProcessingNext": self.error_after_processing_next,
                "down": self.down,
                "tamperNext": self.tamper_next,
                "wrongKeyNext": self.wrong_key_next,
                "routes": sorted(self.routes),
                "calls": dict(self.calls),
            }

    def decide(self, route: str) -> tuple[float, str | None, int]:
        """Counts the call and takes one fault off the switches: (latency, action, error status)."""
        with self.lock:
            self.calls[route] += 1
            if self.routes and route not in self.routes:
                return 0.0, None, 0
            action = None
            if self.down:
                action = "drop"
            elif self.drop_next > 0:
                self.drop_next -= 1
                action = "drop"
            elif self.error_next > 0:
                self.error_next -= 1
                action = "error"
            elif self.drop_after_processing_next > 0:
                self.drop_after_processing_next -= 1
                action = "drop_after"
            elif self.error_after_processing_next > 0:
                self.error_after_processing_next -= 1
                action = "error_after"
            elif self.tamper_next > 0:
                self.tamper_next -= 1
                action = "tamper"
            elif self.wrong_key_next > 0:
                self.wrong_key_next -= 1
                action = "wrong_key"
            return self.latency_seconds, action, self.error_status
