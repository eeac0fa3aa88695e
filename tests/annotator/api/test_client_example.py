"""The README's client example, run for real: a live server, a real Celery worker, a real zip."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from annotator.models import Annotation
from tests.clip_files import frames_zip_bytes

EXAMPLE = Path(__file__).resolve().parents[3] / "docs" / "api_client_example.py"

pytestmark = pytest.mark.worker


def test_client_example_uploads_waits_and_annotates(
    live_server, celery_worker_process, admin_user, tmp_path
):
    from annotator.accounts.tokens import token_create
    from tests.factories import DatasetFactory

    dataset = DatasetFactory(name="CASME II")
    zip_path = tmp_path / "EP02_01f.zip"
    zip_path.write_bytes(frames_zip_bytes(count=6))
    run = subprocess.run(
        [
            sys.executable,
            str(EXAMPLE),
            "--url",
            live_server.url,
            "--token",
            token_create(user=admin_user).key,
            "--dataset",
            str(dataset.pk),
            "--subject",
            "01",
            "--timeout",
            "120",
            str(zip_path),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["frames"] == 6 and result["status"] == "submitted"
    assert result["first_frame_bytes"] > 1000
    annotation = Annotation.objects.get(pk=result["annotation"])
    assert (annotation.onset, annotation.offset, annotation.coder) == (46, 51, admin_user)
    assert "ready: 100%" in run.stderr
