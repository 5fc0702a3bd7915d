"""The lock files match pyproject.toml, and an install notices when they do not (tools/lockfile.py, Makefile)."""

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_tool(root: Path):
    spec = importlib.util.spec_from_file_location("lockfile_under_test", root / "tools" / "lockfile.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_locks_were_made_from_this_pyproject():
    result = subprocess.run(
        [sys.executable, "tools/lockfile.py", "check", "requirements.lock", "requirements-dev.lock"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_every_package_is_pinned_with_hashes():
    for name in ("requirements.lock", "requirements-dev.lock"):
        text = (ROOT / name).read_text()
        pins = re.findall(r"^([A-Za-z0-9_.\-\[\]]+)==(\S+)", text, flags=re.MULTILINE)
        assert len(pins) > 30
        blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 3)[-1])
        for block in blocks:
            if "==" in block.split("\n", 1)[0]:
                assert "--hash=sha256:" in block, block
    dev = dict(re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+)", (ROOT / "requirements-dev.lock").read_text(), re.MULTILINE))
    run = dict(re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+)", (ROOT / "requirements.lock").read_text(), re.MULTILINE))
    assert {name: dev[name] for name in run} == run  # make run and make test install the same versions
    assert "python-dotenv" in run and "pytest" in dev and "pytest" not in run


def test_a_dependency_change_makes_the_lock_stale(tmp_path):
    (tmp_path / "tools").mkdir()
    shutil.copy(ROOT / "tools" / "lockfile.py", tmp_path / "tools")
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    shutil.copy(ROOT / "requirements.lock", tmp_path)
    tool = load_tool(tmp_path)
    assert tool.check(tmp_path / "requirements.lock") is None

    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("[tool.ruff]", "[tool.ruff]\n# a comment changes nothing"))
    assert tool.check(tmp_path / "requirements.lock") is None

    pyproject.write_text(pyproject.read_text().replace('"tenacity>=9,<10",', '"tenacity>=9,<10",\n    "six",'))
    problem = tool.check(tmp_path / "requirements.lock")
    assert problem == (
        "requirements.lock is stale: pyproject.toml's dependencies changed since it was made; "
        "run `make lock` to update it (then commit both files)."
    )
