"""A text progress bar for operator commands (manage.py), written to the command's stdout."""

from django.core.management.base import OutputWrapper


class ProgressBar:
    def __init__(self, stream: OutputWrapper, total: int, *, label: str = "", width: int = 30) -> None:
        self.stream, self.total, self.label, self.width = stream, total, label, width
        self.done = 0

    def update(self, done: int) -> None:
        self.done = min(done, self.total) if self.total else done
        filled = int(self.width * self.done / self.total) if self.total else self.width
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(f"\r{self.label} [{bar}] {self.done}/{self.total}", ending="")
        self.stream.flush()

    def advance(self, step: int = 1) -> None:
        self.update(self.done + step)

    def close(self) -> None:
        self.stream.write("")
