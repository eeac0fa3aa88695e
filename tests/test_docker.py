"""CI has no Docker engine, so docker/'s promises are checked structurally here: the compose stack
has every service with a health check, the GPU worker reserves a GPU, each image target and queue
it names exists, and the images keep what a first build and run on a Docker host showed they need.
docker/smoke.sh runs a started stack end to end."""

import re
from pathlib import Path

import yaml
from django.conf import settings

DOCKER = Path(__file__).resolve().parents[1] / "docker"


def compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def dockerfile_stages() -> dict[str, str]:
    text = (DOCKER / "Dockerfile").read_text()
    parts = re.split(r"^FROM .* AS (\S+)$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_compose_has_the_whole_stack_with_health_checks():
    services = compose()["services"]
    assert {"postgres", "redis", "web", "worker-cpu", "worker-gpu"} <= set(services)
    assert "healthcheck" in services["postgres"] and "healthcheck" in services["redis"]
    stages = dockerfile_stages()
    for name in ("web", "worker-cpu", "worker-gpu"):
        target = services[name]["build"]["target"]
        assert "HEALTHCHECK" in stages[target], f"{target} has no health check"
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert "media:/media" in services[name]["volumes"]


def test_gpu_worker_reserves_a_gpu_and_workers_cover_every_queue():
    services = compose()["services"]
    devices = services["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    stages = dockerfile_stages()
    queues = set()
    for stage in ("worker-cpu", "worker-gpu"):
        match = re.search(r'"--queues", "([^"]+)"', stages[stage])
        queues |= set(match.group(1).split(","))
    assert queues == set(settings.MESTUDIO_QUEUES)
    assert "download.pytorch.org/whl/cpu" not in stages["worker-gpu"]


def test_web_image_collects_static_and_serves_with_gunicorn():
    web = dockerfile_stages()["web"]
    assert "collectstatic" in web and '"gunicorn", "mestudio.wsgi"' in web


def test_images_run_from_the_checkout_and_can_write_media():
    """Found by building and starting the stack: installed as a regular package, the settings
    looked for templates/ and static/ in site-packages (every page failed), and the volume at
    /media belonged to root while the containers run as the mestudio user."""
    text = (DOCKER / "Dockerfile").read_text()
    stages = dockerfile_stages()
    assert "install -d -o mestudio -g mestudio /media" in stages["base"]
    for stage in ("cpu-app", "worker-gpu"):
        assert "pip install -e ." in stages[stage] and "pip install . " not in stages[stage]
    assert "manage.py check --fail-level WARNING" in stages["web"]
    assert text.index("USER mestudio") > text.index("install -d -o mestudio")
