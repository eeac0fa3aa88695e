"""The architecture contracts in pyproject.toml ([tool.importlinter]), checked on every run:
mlcore imports no Django and nothing of the platform, neither mlcore's packages nor annotator's
modules import a cycle, and annotator's domains import only downward, in the documented order.
No module imports our own code inside a function, and none outgrows about 500 lines.
And the platform's tests mirror its domains."""

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUR_PACKAGES = ("annotator", "mlcore")
MAX_MODULE_LINES = 500


def modules_under(*folders: str):
    for folder in folders:
        for module in sorted((REPO / folder).rglob("*.py")):
            if "migrations" not in module.parts:
                yield module


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


def test_no_module_imports_our_code_inside_a_function():
    """An import inside a function is how a cycle hides; the floors make none necessary. One
    exception is Django's, not ours: the log-in signal's handler calls django-axes, whose helpers
    import its models, so the app's config imports it in `ready()`, once the apps are loaded
    (the roles' handler imports no model and sits at the top). Heavy third-party libraries may
    still load lazily: matplotlib for a plot."""
    hidden = []
    for module in modules_under(*OUR_PACKAGES, "platform"):
        for function in ast.walk(ast.parse(module.read_text())):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                names = (
                    [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else [alias.name for alias in node.names]
                    if isinstance(node, ast.Import)
                    else []
                )
                hidden += [
                    f"{module.relative_to(REPO)} {function.name}() imports {name}"
                    for name in names
                    if name.split(".")[0] in (*OUR_PACKAGES, "mestudio")
                ]
    assert hidden == ["annotator/apps.py ready() imports annotator.accounts.logins"], hidden


def test_no_module_outgrows_about_500_lines():
    too_long = {
        str(module.relative_to(REPO)): lines
        for module in modules_under(*OUR_PACKAGES, "platform", "tests", "benchmarks")
        if (lines := len(module.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert too_long == {}, f"split these by what they do (migrations aside): {too_long}"
