"""The training page draws the simulated learning curves of `python -m mlcore simulate-loop`
beside the lab's own (issue #18.5): an admin sees what labelling in the queue's order is expected
to buy before any version exists, and compares the lab's curve with it after."""

import io
import json
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils.html import escape
from PIL import Image

from tests.annotator.support.training_runs import training_run_trained
from tests.factories import trainable_dataset

pytestmark = pytest.mark.django_db

COMMITTED = Path(django_settings.BASE_DIR) / "docs" / "active-learning" / "simulation.json"


def png_pixels(response) -> np.ndarray:
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    return np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"), dtype=np.int16)


def test_the_committed_simulation_is_drawn_before_any_version_exists(client, admin_user):
    assert django_settings.LOOP_SIMULATION_RESULT == COMMITTED
    client.force_login(admin_user)
    page = client.get(reverse("training")).content.decode()
    note_verdict = json.loads(COMMITTED.read_text())["summary"]["goal"]["verdict"]
    assert 'data-testid="simulation-note"' in page
    assert escape(note_verdict) in page
    plot_url = reverse("model-version-plot", args=["learning-curve"])
    assert plot_url in page
    assert reverse("model-version-plot", args=["history"]) not in page  # nothing to draw yet
    pixels = png_pixels(client.get(plot_url))
    assert pixels.std() > 0


def test_the_lab_curve_and_the_simulated_ones_share_the_figure(client, admin_user, settings):
    trained = training_run_trained(
        datasets=[trainable_dataset(name="CASME II")], created_by=admin_user
    )
    assert trained.model_version is not None
    client.force_login(admin_user)
    plot_url = reverse("model-version-plot", args=["learning-curve"])
    with_simulation = png_pixels(client.get(plot_url))
    settings.LOOP_SIMULATION_RESULT = COMMITTED.parent / "absent.json"
    lab_only = png_pixels(client.get(plot_url))
    assert with_simulation.shape == lab_only.shape
    assert np.abs(with_simulation - lab_only).sum() > 0  # the dashed curves are there, or not
    page = client.get(reverse("training")).content.decode()
    assert 'data-testid="simulation-note"' not in page
    assert plot_url in page  # the lab's own curve stays


def test_an_unreadable_simulation_is_named_and_nothing_is_drawn_from_it(
    client, admin_user, settings, tmp_path
):
    broken = tmp_path / "simulation.json"
    broken.write_text('{"summary": {"strategies": ')
    settings.LOOP_SIMULATION_RESULT = broken
    client.force_login(admin_user)
    page = client.get(reverse("training")).content.decode()
    assert f"No simulated curves: {broken} is not a simulate-loop result" in page
    plot_url = reverse("model-version-plot", args=["learning-curve"])
    assert plot_url not in page
    assert client.get(plot_url).status_code == 404
