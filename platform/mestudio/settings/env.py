"""Typed readers for environment variables.

Each reader names the variable in its error, so a malformed value stops start-up with a message a
person can act on instead of a stack trace from deep inside Django or Celery.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
SUPPORTED_DATABASE_ENGINES = {"django.db.backends.postgresql", "django.db.backends.sqlite3"}
BROKER_SCHEMES = {"redis", "rediss", "amqp", "amqps", "pyamqp", "filesystem", "memory"}


def _raw(name: str, default: str | None) -> str | None:
    value = os.environ.get(name)
    return default if value is None else value.strip()


def env_str(name: str, *, default: str | None = None) -> str:
    value = _raw(name, default)
    if value is None or value == "":
        raise ImproperlyConfigured(f"{name} must be set (see README, 'Configuration').")
    return value


def env_bool(name: str, *, default: bool) -> bool:
    value = _raw(name, None)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


def env_int(name: str, *, default: int, minimum: int = 0) -> int:
    value = _raw(name, None)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}.")
    return number


def env_list(name: str, *, default: list[str]) -> list[str]:
    value = _raw(name, None)
    if value is None:
        return default
    items = [item.strip() for item in value.split(",") if item.strip()]
    if not items:
        raise ImproperlyConfigured(f"{name} must be a comma-separated list, not {value!r}.")
    return items


def env_hosts(name: str, *, default: list[str]) -> list[str]:
    hosts = env_list(name, default=default)
    for host in hosts:
        if "/" in host or " " in host:
            raise ImproperlyConfigured(
                f"{name} lists host names (example.org,.example.org), not URLs: {host!r}."
            )
    return hosts


def env_database(name: str, *, default: str) -> dict:
    url = _raw(name, default) or default
    try:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    except (ValueError, KeyError) as error:
        raise ImproperlyConfigured(f"{name} is malformed ({error}): {url!r}.") from None
    if config.get("ENGINE") not in SUPPORTED_DATABASE_ENGINES:
        raise ImproperlyConfigured(
            f"{name} must be a postgres:// or sqlite:/// URL (the databases MEStudio is tested "
            f"on), not {url!r}."
        )
    if config["ENGINE"].endswith("sqlite3") and config["NAME"] not in ("", ":memory:"):
        Path(config["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    return config


def env_broker_url(name: str, *, default: str) -> str:
    url = _raw(name, default) or default
    scheme = urlsplit(url).scheme
    if scheme not in BROKER_SCHEMES:
        raise ImproperlyConfigured(
            f"{name} must be a Celery broker URL ({', '.join(sorted(BROKER_SCHEMES))}), "
            f"not {url!r}."
        )
    return url


def env_cache(name: str) -> dict:
    """A Redis URL shares the cache (log-in failure counts) between processes and machines;
    unset keeps one in-memory cache per process."""
    url = _raw(name, None)
    if not url:
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    if urlsplit(url).scheme not in {"redis", "rediss"}:
        raise ImproperlyConfigured(f"{name} must be a redis:// or rediss:// URL, not {url!r}.")
    return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}


def env_path(name: str, *, default: Path | None) -> Path | None:
    value = _raw(name, None)
    if value is None or value == "":
        return default
    if "\x00" in value:
        raise ImproperlyConfigured(f"{name} is not a usable path: {value!r}.")
    return Path(value).expanduser().resolve()


def env_file(name: str) -> Path | None:
    """An optional file path: when given it must not be a folder (its existence is checked where
    it is used, because web servers do not need files that only workers read)."""
    path = env_path(name, default=None)
    if path is not None and path.is_dir():
        raise ImproperlyConfigured(f"{name} must name a file, but {path} is a folder.")
    return path
