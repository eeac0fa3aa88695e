"""Settings come from the environment; a malformed value stops start-up naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "SECRET_KEY": "k" * 20 + "-this-is-a-long-random-production-secret-key-0123456789",
    "ALLOWED_HOSTS": "mestudio.example.org",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/mestudio",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
}


def run_django(settings_module: str, env: dict[str, str], *args: str):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "CELERY"))}
    for name in ("DATABASE_URL", "SECRET_KEY", "ALLOWED_HOSTS", "MEDIA_ROOT", "RETINAFACE_WEIGHTS"):
        clean.pop(name, None)
    clean.update(env, DJANGO_SETTINGS_MODULE=settings_module)
    return subprocess.run(
        [sys.executable, "manage.py", *(args or ["check"])],
        cwd=REPO,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "not a url"),
        ("DATABASE_URL", "mysql2://nobody@host/db"),
        ("CELERY_BROKER_URL", "http://localhost:6379"),
        ("ALLOWED_HOSTS", "https://mestudio.example.org/"),
        ("DJANGO_DEBUG", "maybe"),
        ("CELERY_TASK_SOFT_TIME_LIMIT", "ten"),
        ("CACHE_URL", "memcached://127.0.0.1:11211"),
    ],
)
def test_malformed_value_stops_start_up_naming_the_variable(variable, value, tmp_path):
    result = run_django(
        "mestudio.settings.local", {variable: value, "MESTUDIO_VAR_DIR": str(tmp_path)}
    )
    assert result.returncode != 0
    assert variable in result.stderr
    assert "ImproperlyConfigured" in result.stderr


def test_retinaface_weights_must_name_a_file(tmp_path):
    result = run_django(
        "mestudio.settings.local",
        {"RETINAFACE_WEIGHTS": str(tmp_path), "MESTUDIO_VAR_DIR": str(tmp_path)},
    )
    assert result.returncode != 0
    assert "RETINAFACE_WEIGHTS must name a file" in result.stderr


def test_production_requires_secret_key():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = run_django("mestudio.settings.production", env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_passes_the_deploy_check():
    result = run_django("mestudio.settings.production", PRODUCTION_ENV, "check", "--deploy")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_local_defaults_use_sqlite_under_var(tmp_path):
    result = run_django(
        "mestudio.settings.local",
        {"MESTUDIO_VAR_DIR": str(tmp_path)},
        "shell",
        "-c",
        "from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.DATABASES['default']['NAME'],"
        " s.CELERY_BROKER_URL, s.MEDIA_ROOT)",
    )
    assert result.returncode == 0, result.stderr
    engine, name, broker, media = result.stdout.split()[-4:]
    assert engine == "django.db.backends.sqlite3"
    assert Path(name) == tmp_path / "db.sqlite3"
    assert broker == "filesystem://"
    assert Path(media) == tmp_path / "media"


def test_cache_url_shares_the_cache_between_processes(tmp_path):
    env = {"CACHE_URL": "redis://127.0.0.1:6379/9", "MESTUDIO_VAR_DIR": str(tmp_path)}
    written = run_django(
        "mestudio.settings.local",
        env,
        "shell",
        "-c",
        "from django.core.cache import cache; cache.set('shared-probe', 'seen', 30)",
    )
    assert written.returncode == 0, written.stderr
    read = run_django(
        "mestudio.settings.local",
        env,
        "shell",
        "-c",
        "from django.core.cache import cache; print(cache.get('shared-probe')); "
        "cache.delete('shared-probe')",
    )
    assert read.returncode == 0, read.stderr
    assert read.stdout.splitlines()[-1] == "seen"
