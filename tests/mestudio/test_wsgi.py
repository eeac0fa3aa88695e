"""The WSGI entry point loads every view and freezes what start-up allocated, so that a full
garbage collection never walks start-up's objects in the middle of a request; and a web process
loads neither torch, OpenCV, matplotlib nor scikit-learn (only workers build models and decode
frames; a plot loads matplotlib when it is first drawn, the agreement report scikit-learn when it
is first computed)."""

import subprocess
import sys

from tests.mestudio.test_settings import PRODUCTION_ENV, REPO

PROBE = """
import gc, sys
import mestudio.wsgi
gc.collect()
print(gc.get_freeze_count(), len(gc.get_objects()),
      "annotator.api_router" in sys.modules,
      *(name in sys.modules for name in ("torch", "cv2", "matplotlib", "sklearn")))
"""


def test_start_up_objects_are_frozen_out_of_garbage_collection():
    env = {"DJANGO_SETTINGS_MODULE": "mestudio.settings.production", **PRODUCTION_ENV}
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    frozen, tracked, views_loaded, *heavy_loaded = result.stdout.split()
    assert views_loaded == "True"
    assert heavy_loaded == ["False"] * 4  # torch, OpenCV, matplotlib, scikit-learn
    # Start-up leaves hundreds of thousands of objects; after freezing, a collection sees few.
    assert int(frozen) > 100_000
    assert int(tracked) < int(frozen) // 20
