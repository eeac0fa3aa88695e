"""The architecture contracts in pyproject.toml ([tool.importlinter]), checked on every run:
mlcore imports no Django and nothing of the platform, neither mlcore's packages nor annotator's
modules import a cycle, and annotator's domains import only downward, in the documented order.
And the platform's tests mirror its domains."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# The folders of tests/annotator/: one per domain of annotator/ (the target tree in
# ../shared/design/architecture.md), plus the API's, the browser's, the whole product's (e2e)
# and the helpers they share (support).
ANNOTATOR_TEST_FOLDERS = {
    "jobs",
    "accounts",
    "corpus",
    "coding",
    "exchange",
    "learning",
    "api",
    "browser",
    "e2e",
    "support",
}


def test_the_import_contracts_hold():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"],
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{REPO}:{REPO / 'platform'}"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
    for contract in (
        "mlcore imports neither Django nor the platform",
        "no import cycle between the modules of annotator",
        "the domains depend on each other only downward",
    ):
        assert f"{contract} KEPT" in result.stdout, result.stdout


def test_every_annotator_test_module_lives_in_a_domain_folder():
    root = REPO / "tests" / "annotator"
    misplaced = sorted(
        str(module.relative_to(root))
        for module in root.rglob("*.py")
        if module != root / "__init__.py"
        and module.relative_to(root).parts[0] not in ANNOTATOR_TEST_FOLDERS
    )
    assert misplaced == [], (
        f"tests/annotator/ mirrors the domains; move these into one of "
        f"{sorted(ANNOTATOR_TEST_FOLDERS)}: {misplaced}"
    )
