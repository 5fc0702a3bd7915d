"""The gateway reaches holders only over HTTP: no module of initiator/ imports a holder app or the connectors, and
no holder app imports initiator/ (ARCHITECTURE.md, "Boundaries")."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOLDER_SIDE = ("consents", "payments", "recurring", "enrollments", "connectors")


def imported_modules(package: str) -> set[tuple[str, str]]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found |= {(str(path.relative_to(ROOT)), alias.name) for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add((str(path.relative_to(ROOT)), node.module))
    return found


def test_initiator_never_imports_the_holder_side():
    crossing = {(f, m) for f, m in imported_modules("initiator") if m.split(".")[0] in HOLDER_SIDE}
    assert crossing == set()


def test_the_holder_side_never_imports_the_initiator():
    crossing = {
        (f, m) for package in HOLDER_SIDE for f, m in imported_modules(package) if m.split(".")[0] == "initiator"
    }
    assert crossing == set()
