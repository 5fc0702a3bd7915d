"""Ties the lock files to the pyproject.toml they were made from (docs/installing.md).

    python3 tools/lockfile.py stamp requirements.lock requirements-dev.lock   # `make lock`, after compiling
    python3 tools/lockfile.py check requirements.lock                          # every install, before pip

The fingerprint covers only what decides the resolution (requires-python, dependencies, optional dependencies,
build requirements), so editing ruff or pytest settings does not make a lock stale. Runs on the system Python
(3.11+, tomllib) before the virtualenv exists.
"""

import hashlib
import json
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "# pyproject-fingerprint: "


def fingerprint() -> str:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    project = pyproject.get("project", {})
    decisive = {
        "requires-python": project.get("requires-python"),
        "dependencies": project.get("dependencies", []),
        "optional-dependencies": project.get("optional-dependencies", {}),
        "build-requires": pyproject.get("build-system", {}).get("requires", []),
    }
    return hashlib.sha256(json.dumps(decisive, sort_keys=True).encode()).hexdigest()


def recorded(lock: Path) -> str | None:
    for line in lock.read_text(encoding="utf-8").splitlines():
        if line.startswith(PREFIX):
            return line.removeprefix(PREFIX).strip()
    return None


def stamp(lock: Path) -> None:
    lines = [line for line in lock.read_text(encoding="utf-8").splitlines() if not line.startswith(PREFIX)]
    lock.write_text("\n".join([PREFIX + fingerprint(), *lines]) + "\n", encoding="utf-8")


def check(lock: Path) -> str | None:
    """None when the lock matches pyproject.toml, else the one sentence to show."""
    name = lock.relative_to(ROOT) if lock.is_relative_to(ROOT) else lock
    if not lock.exists():
        return f"{name} is missing: run `make lock` to create it from pyproject.toml."
    if recorded(lock) != fingerprint():
        return (
            f"{name} is stale: pyproject.toml's dependencies changed since it was made; "
            "run `make lock` to update it (then commit both files)."
        )
    return None


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in {"stamp", "check"}:
        print(__doc__, file=sys.stderr)
        return 2
    locks = [Path(arg).resolve() for arg in argv[1:]]
    if argv[0] == "stamp":
        for lock in locks:
            stamp(lock)
        return 0
    problems = [problem for problem in map(check, locks) if problem]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
