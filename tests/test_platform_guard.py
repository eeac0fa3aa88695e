"""`platform/` holds the Django project but must never become a package named `platform`:
uuid, Django, Celery and torch import the standard library module of that name."""

import platform
import subprocess
import sys
import sysconfig
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_platform_is_the_standard_library_module():
    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    assert Path(platform.__file__).resolve().parent == stdlib
    assert callable(platform.python_version)


def test_platform_folder_has_no_init():
    assert not (REPO / "platform" / "__init__.py").exists()


def test_platform_resolves_to_stdlib_from_the_repo_root():
    # Running from the checkout puts the repo root on sys.path first: the folder must not win.
    output = subprocess.run(
        [sys.executable, "-c", "import platform, mestudio; print(platform.__file__)"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(output).name == "platform.py"
    assert Path(output).parent != REPO / "platform"
