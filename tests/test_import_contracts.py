"""The import contracts of pyproject.toml ([tool.importlinter], docs/architecture.md) hold on the code as it is, and
each one breaks when a module makes the import it forbids: the check runs on a copy of the packages with one
forbidden import added, so a contract that could never fail (a typo in a module name) is caught here."""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]


def lint_imports(cwd: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    selected = [argument for contract in contracts for argument in ("--contract", contract)]
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", *selected],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(cwd)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_contract_is_kept_by_the_code() -> None:
    result = lint_imports(ROOT)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(CONFIG['contracts'])} kept, 0 broken." in result.stdout


# (contract id, module of the copy that gains the import, the forbidden import)
FORBIDDEN_IMPORTS = [
    ("consents-domain-below-api", "consents/services.py", "import consents.api.views"),
    ("payments-domain-below-api", "payments/models.py", "import payments.api.views"),
    ("recurring-domain-below-api", "recurring/selectors.py", "import recurring.api.views"),
    ("enrollments-domain-below-api", "enrollments/tasks.py", "import enrollments.api.views"),
    ("connectors-below-domain", "connectors/interfaces.py", "import payments.models"),
    ("connectors-below-domain", "connectors/http/signing.py", "import opusof.api.errors"),
    ("consents-below-payments", "consents/models.py", "import payments.models"),
    ("shared-machinery-below-http", "opusof/jose.py", "import opusof.api.parsers"),
    ("initiator-domain-below-api", "initiator/selectors.py", "import initiator.api.views"),
    ("initiator-never-imports-holder-apps", "initiator/models.py", "import payments.models"),
    ("holder-apps-never-import-initiator", "payments/services.py", "import initiator.models"),
    ("merchant-domain-below-api", "merchant/services/plans.py", "import merchant.efi.views"),
    ("merchant-never-imports-holder-apps", "merchant/selectors.py", "import payments.models"),
    ("merchant-only-initiator-services", "merchant/models.py", "import initiator.models"),
    ("nothing-imports-merchant", "initiator/services/payments.py", "import merchant.models"),
    ("shop-over-http-only", "shop/views.py", "import merchant.services.plans"),
]


def test_the_forbidden_imports_cover_every_contract() -> None:
    assert {contract for contract, _, _ in FORBIDDEN_IMPORTS} == {c["id"] for c in CONFIG["contracts"]}


@pytest.fixture(scope="module")
def pristine_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The root packages' Python files and pyproject.toml, copied once; each test copies this again to edit it."""
    copy = tmp_path_factory.mktemp("contracts") / "repo"
    for package in CONFIG["root_packages"]:
        shutil.copytree(
            ROOT / package,
            copy / package,
            ignore=lambda folder, names: [
                name for name in names if not name.endswith(".py") and not (Path(folder) / name).is_dir()
            ],
        )
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


@pytest.mark.parametrize(("contract", "module", "statement"), FORBIDDEN_IMPORTS)
def test_a_forbidden_import_breaks_its_contract(
    pristine_copy: Path, tmp_path: Path, contract: str, module: str, statement: str
) -> None:
    # Given a copy of the code whose `module` makes the import the contract forbids
    copy = tmp_path / "repo"
    shutil.copytree(pristine_copy, copy)
    target = copy / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{statement}  # noqa\n", encoding="utf-8")

    # When the contracts are checked
    result = lint_imports(copy, contract)

    # Then that contract is broken, naming the module that made the import
    assert result.returncode != 0, result.stdout
    assert "BROKEN" in result.stdout
    assert module.removesuffix(".py").replace("/", ".") in result.stdout
