"""What the PostgreSQL benchmarks share: a database of their own, and this process (and the
servers it starts) pointed at it with the local settings."""

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PG = "postgres://postgres@127.0.0.1:5432"


def database_recreate(name: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name}")
        connection.execute(f"CREATE DATABASE {name}")


def database_drop(name: str) -> None:
    """Drop `name` after closing this process's Django connections to it (when Django is set
    up): PostgreSQL refuses to drop a database that a session is still using."""
    import psycopg
    from django.conf import settings

    if settings.configured:
        from django.db import connections

        connections.close_all()
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name}")


def django_environment(*, work: Path, database: str) -> dict[str, str]:
    """Replace this process's environment with one for `database` and `work`, and return it for
    the processes the benchmark starts. The test suite's variables are dropped on purpose."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "MEDIA_ROOT"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="mestudio.settings.local",
        DJANGO_DEBUG="false",
        DATABASE_URL=f"{PG}/{database}",
        MESTUDIO_VAR_DIR=str(work / "var"),
    )
    os.environ.clear()
    os.environ.update(env)
    sys.path[:0] = [str(REPO), str(REPO / "platform")]
    return env
