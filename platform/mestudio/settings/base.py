"""Settings shared by every environment. Every value that differs between machines comes from an
environment variable (README, 'Configuration')."""

from datetime import timedelta
from pathlib import Path

from kombu import Exchange, Queue

from mestudio.settings.env import (
    env_bool,
    env_broker_url,
    env_cache,
    env_database,
    env_file,
    env_hosts,
    env_int,
    env_list,
    env_path,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parents[3]
VAR_DIR = env_path("MESTUDIO_VAR_DIR", default=BASE_DIR / "var")

SECRET_KEY = env_str("SECRET_KEY", default="insecure-local-development-key-not-for-production")
DEBUG = env_bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env_hosts("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "rest_framework",
    "knox",
    "csp",
    "axes",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "annotator",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "annotator.middleware.ApplicationErrorMiddleware",
    # Last, as django-axes asks: it turns a locked-out log-in's response into a 429.
    "axes.middleware.AxesMiddleware",
]

# django-axes refuses password checks for a locked-out username or client before any backend.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "annotator.roles.RolePermissionBackend",
]

# Content-Security-Policy (django-csp): scripts, styles, frames and fetches from this site only,
# no inline script, no eval. The API docs pages alone allow inline styles (mestudio.urls).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

ROOT_URLCONF = "mestudio.urls"
WSGI_APPLICATION = "mestudio.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env_database("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default serves the web process, a command and the worker at once. WAL lets
    # them read while one writes; IMMEDIATE makes each transaction take the write lock when it
    # begins, since a transaction that reads first and writes later fails at once with
    # "database is locked" when another process wrote meanwhile; the timeout (seconds) makes
    # a writer wait for the lock instead. NORMAL syncs the WAL at checkpoints only: a power cut
    # may lose the last commits but never corrupts the file.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env_path("STATIC_ROOT", default=VAR_DIR / "staticfiles")
MEDIA_URL = "media/"
MEDIA_ROOT = env_path("MEDIA_ROOT", default=VAR_DIR / "media")

# Folders that server-side dataset imports may read (comma-separated); empty: any folder.
DATASET_IMPORT_ROOTS = env_list("MESTUDIO_IMPORT_ROOTS", default=[])

MAX_UPLOAD_BYTES = env_int("MESTUDIO_MAX_UPLOAD_MB", default=1024, minimum=1) * 1024 * 1024

# Workers on other machines read this file; the web process never loads weights.
RETINAFACE_WEIGHTS = env_file("RETINAFACE_WEIGHTS")

# What `python -m mlcore simulate-loop` measured: the training page draws its curves beside the
# lab's real learning curve. The default is the committed measurement (docs/active-learning.md).
LOOP_SIMULATION_RESULT = env_path(
    "MESTUDIO_LOOP_SIMULATION", default=BASE_DIR / "docs" / "active-learning" / "simulation.json"
)

# The REST API (/api/v1/): tokens for scripts, the session for the browser. Token comes first so
# an anonymous request is answered 401 with a WWW-Authenticate header, not 403.
# How many reverse proxies of ours stand in front of gunicorn (0: clients connect directly).
TRUSTED_PROXIES = env_int("MESTUDIO_TRUSTED_PROXIES", default=0)

# API keys are stored hashed (django-rest-knox) and stop working this long after they are made.
API_TOKEN_TTL = timedelta(days=env_int("MESTUDIO_API_TOKEN_DAYS", default=30, minimum=1))
REST_KNOX = {"TOKEN_TTL": API_TOKEN_TTL, "AUTH_HEADER_PREFIX": "Token"}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # JSON bodies everywhere; the clip upload alone takes multipart.
    "DEFAULT_PARSER_CLASSES": ["annotator.api.parsers.BoundedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "annotator.api.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "EXCEPTION_HANDLER": "annotator.api.errors.api_exception_handler",
    # Only the endpoints taking a password or handing out a token are throttled.
    "DEFAULT_THROTTLE_RATES": {"login": "10/min", "tokens": "20/min"},
    # The client of a throttle (and of a log-in limit) is REMOTE_ADDR; X-Forwarded-For only
    # through this many proxies of ours. DRF's default (None) believes any forwarded header.
    "NUM_PROXIES": TRUSTED_PROXIES,
}

CACHES = {"default": env_cache("CACHE_URL")}

# Failed password checks on every log-in door, kept by django-axes (annotator.accounts.logins): per
# username, and per client address, which an office behind one address shares.
LOGIN_FAILURE_LIMIT = 5
LOGIN_CLIENT_FAILURE_LIMIT = 20
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_FAILURE_LIMIT = "annotator.accounts.logins.failure_limit"
AXES_COOLOFF_TIME = timedelta(minutes=5)
AXES_CLIENT_IP_CALLABLE = "annotator.accounts.logins.client_address"
AXES_LOCKOUT_CALLABLE = "annotator.accounts.logins.lockout_response"

# The API schema and its docs pages need a log-in unless this opens them to anyone.
API_DOCS_PUBLIC = env_bool("MESTUDIO_API_DOCS_PUBLIC", default=False)

SPECTACULAR_SETTINGS = {
    "TITLE": "MEStudio API",
    "DESCRIPTION": (
        "Micro-expression coding: datasets, clips, frames, annotations, review and agreement. "
        "Authenticate with `Authorization: Token <key>` (create the key on /profile/) or the "
        'browser session. Errors are `{"errors": [{"field", "code", "message"}]}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The docs pages load Swagger UI and Redoc from our static files, not from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "annotator.api.schema.add_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "AnnotationStatusEnum": "annotator.models.Annotation.Status",
        "IngestStatusEnum": "annotator.models.Clip.IngestStatus",
        "JobRunStatusEnum": "annotator.models.JobRun.Status",
        "MinStatusEnum": "annotator.models.TrainingRun.MinStatus",
    },
}

# --- Celery -----------------------------------------------------------------------------------
# The default broker is kombu's filesystem transport: a real broker for a real worker process
# that needs no server, so `make demo` runs on a bare machine. Production uses Redis.
MESTUDIO_QUEUES = ("preprocess", "train", "infer")
CELERY_BROKER_URL = env_broker_url("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _folder in ("queue", "control", "processed"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
# A broker that does not answer must not hang a web request: connecting gives up after this many
# seconds and a publish is retried twice, so a refused enqueue answers 503 within seconds.
CELERY_BROKER_CONNECTION_TIMEOUT = env_int("CELERY_BROKER_CONNECTION_TIMEOUT", default=3, minimum=1)
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # The Redis transport ignores CELERY_BROKER_CONNECTION_TIMEOUT and takes its own.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": CELERY_BROKER_CONNECTION_TIMEOUT}
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 0.5,
}
# Task outcomes live in JobRun rows, which the UI polls; Celery's result store is not needed.
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
# One exchange per queue, so a task sent to one queue is never copied into another.
CELERY_TASK_QUEUES = [Queue(name, Exchange(name), routing_key=name) for name in MESTUDIO_QUEUES]
CELERY_TASK_DEFAULT_QUEUE = "preprocess"
CELERY_TASK_DEFAULT_EXCHANGE = "preprocess"
CELERY_TASK_DEFAULT_ROUTING_KEY = "preprocess"
# Every task we run is long: a worker takes one at a time and acknowledges it when done, so a
# crashed worker's task is not silently lost.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = True
# A pool process killed under a task (the out-of-memory killer, a segfault in a decoder) fails
# the task's job instead of putting the message back: a job that kills its process every time
# would otherwise be redelivered forever (annotator.tasks fails the job on WorkerLostError).
CELERY_TASK_REJECT_ON_WORKER_LOST = False
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", default=3600, minimum=1)
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 300
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Every job ends (annotator.tasks.job_runs_reconcile, run by each worker on start and every
# MESTUDIO_JOB_RECONCILE_INTERVAL seconds): a running job whose worker no longer runs it fails;
# a job queued MESTUDIO_JOB_REQUEUE_AFTER seconds without a taker is sent once more (its message
# may have been lost with a broker restarted without persistence; a duplicate runs nothing);
# a job still queued MESTUDIO_JOB_QUEUED_DEADLINE seconds after it was created fails.
MESTUDIO_JOB_RECONCILE_INTERVAL = env_int("MESTUDIO_JOB_RECONCILE_INTERVAL", default=300, minimum=1)
MESTUDIO_JOB_REQUEUE_AFTER = env_int("MESTUDIO_JOB_REQUEUE_AFTER", default=600)
MESTUDIO_JOB_QUEUED_DEADLINE = env_int("MESTUDIO_JOB_QUEUED_DEADLINE", default=24 * 3600)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "INFO"},
}
