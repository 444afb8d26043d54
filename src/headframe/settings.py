"""The one settings module. Everything a deployment changes comes from HEADFRAME_* environment variables.

Local defaults are safe: DEBUG off, an embedded SQLite database under var/, and a secret key that is only
generated for the demo and the test suite; anywhere else HEADFRAME_SECRET_KEY must be set.
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from headframe import __version__ as headframe_version

PACKAGE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(os.environ.get("HEADFRAME_VAR_DIR", Path.cwd() / "var")).resolve()


def _env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None


DEMO_MODE = os.environ.get("HEADFRAME_MODE", "") == "demo"
RUNNING_TESTS = "PYTEST_VERSION" in os.environ  # pytest >= 8.2 sets this for the whole session
DEBUG = _env_bool("HEADFRAME_DEBUG", False)


def _secret_key() -> tuple[str, str]:
    """The key and where it came from: "environment", "test" or "demo-file" (`check --deploy` warns on the last)."""
    key = os.environ.get("HEADFRAME_SECRET_KEY", "")
    if key:
        return key, "environment"
    if RUNNING_TESTS:
        return "insecure-test-only-key-" + "x" * 40, "test"
    if DEMO_MODE or DEBUG:
        # Persist the demo key so sessions survive a restart of `make demo`.
        key_file = VAR_DIR / "demo-secret-key"
        if not key_file.exists():
            VAR_DIR.mkdir(parents=True, exist_ok=True)
            key_file.write_text(secrets.token_urlsafe(50))
        return key_file.read_text().strip(), "demo-file"
    # A command run from a demo checkout (`headframe token create admin` after `make demo`) finds the demo's key
    # the way `headframe demo` does: in VAR_DIR, next to the demo's SQLite database. Never created here.
    demo_key_file = VAR_DIR / "demo-secret-key"
    if demo_key_file.is_file() and (demo_key := demo_key_file.read_text().strip()):
        return demo_key, "demo-file"
    raise ImproperlyConfigured(
        "HEADFRAME_SECRET_KEY is required (set it to a long random string; `headframe demo` runs without it)"
    )


SECRET_KEY, SECRET_KEY_SOURCE = _secret_key()

ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("HEADFRAME_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("HEADFRAME_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "headframe.core",
    "headframe.org",
    "headframe.notify",
    "headframe.production",
    "headframe.telemetry",
    "headframe.briefing",
    "headframe.workforce",
    "headframe.safety",
    "headframe.web",
    "ninja",  # after headframe.web (its templates override ninja's): Swagger UI from ninja's own static files
]

MIDDLEWARE = [
    "headframe.core.middleware.PageTurnMiddleware",
    "headframe.core.middleware.RequestIdMiddleware",
    "headframe.core.middleware.AuditChannelMiddleware",
    "headframe.core.middleware.ServerErrorMiddleware",
    "headframe.core.middleware.BodySizeLimitMiddleware",
    "headframe.core.middleware.NulCharacterMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "headframe.core.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "headframe.core.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "headframe.urls"
WSGI_APPLICATION = "headframe.wsgi.application"
ASGI_APPLICATION = "headframe.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "headframe.web.context_processors.shell",
            ],
        },
    }
]

# How long a request waits for a lock another writer holds before it answers 503 (Retry-After) instead:
# SQLite: the statement is tried again until then (core/sqlite3); PostgreSQL: lock_timeout. 0 means "wait as
# long as it takes" on both (SQLite: about 24 days; PostgreSQL lock_timeout=0).
DATABASE_LOCK_TIMEOUT_S = _env_int("HEADFRAME_DB_LOCK_TIMEOUT_S", 20)
if DATABASE_LOCK_TIMEOUT_S < 0:
    raise ImproperlyConfigured(
        f"HEADFRAME_DB_LOCK_TIMEOUT_S must be 0 (wait as long as it takes) or a number of seconds, "
        f"got {DATABASE_LOCK_TIMEOUT_S}"
    )
SQLITE_WAIT_FOREVER_S = 2_147_483  # SQLite's busy timeout is a C int of milliseconds
DATABASE_BUSY_RETRY_AFTER_S = _env_int("HEADFRAME_DB_BUSY_RETRY_AFTER_S", 5)
DEFAULT_DATABASE_URL = f"sqlite:///{VAR_DIR / 'headframe.sqlite3'}"
DATABASE_URL = os.environ.get("HEADFRAME_DATABASE_URL", DEFAULT_DATABASE_URL)
try:
    _database = dj_database_url.parse(DATABASE_URL, conn_max_age=_env_int("HEADFRAME_DB_CONN_MAX_AGE", 0))
except ValueError as exc:
    raise ImproperlyConfigured(f"HEADFRAME_DATABASE_URL is not a database URL: {exc}") from None
if _database["ENGINE"] == "django.db.backends.sqlite3":
    # Django's backend, waiting for the write lock in Python instead of in SQLite (core/sqlite3/base.py says why).
    _database["ENGINE"] = "headframe.core.sqlite3"
    if _database["NAME"] != ":memory:":
        Path(_database["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    _database["OPTIONS"] = {
        # WAL lets the live pages read while ingest writes; IMMEDIATE avoids "database is locked" upgrades.
        # A checkpoint every 10 000 pages (~40 MB of WAL) instead of 1 000: ingest dirties the same index pages
        # flush after flush, and a longer WAL copies each once — the commit of a flush took half as long.
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
            "PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY; PRAGMA wal_autocheckpoint=10000;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": min(DATABASE_LOCK_TIMEOUT_S, SQLITE_WAIT_FOREVER_S) or SQLITE_WAIT_FOREVER_S,
    }
    _database["TEST"] = {"NAME": os.environ.get("HEADFRAME_TEST_SQLITE_NAME") or None}
elif _database["ENGINE"].startswith("django.db.backends.postgresql"):
    # Set even when 0, so a lock_timeout configured on the server or role does not make 0 mean something else.
    _pg_options = _database.setdefault("OPTIONS", {})
    _pg_options["options"] = (
        _pg_options.get("options", "") + f" -c lock_timeout={DATABASE_LOCK_TIMEOUT_S * 1000}"
    ).strip()
DATABASES = {"default": _database}
# A streaming replica of the PostgreSQL primary: dashboards, packs and telemetry history read from it inside
# core.db_router.reading_from_replica(); writes and read-your-writes stay on the primary; down or lagging more
# than HEADFRAME_DATABASE_REPLICA_MAX_LAG_S (0: never too far behind), reads fall back to the primary.
DATABASE_REPLICA_URL = os.environ.get("HEADFRAME_DATABASE_REPLICA_URL", "").strip()
DATABASE_REPLICA_MAX_LAG_S = _env_int("HEADFRAME_DATABASE_REPLICA_MAX_LAG_S", 10)
if DATABASE_REPLICA_MAX_LAG_S < 0:
    raise ImproperlyConfigured(
        "HEADFRAME_DATABASE_REPLICA_MAX_LAG_S must be 0 (no limit) or a number of seconds"
    )
if DATABASE_REPLICA_URL:
    try:
        _replica = dj_database_url.parse(
            DATABASE_REPLICA_URL, conn_max_age=_env_int("HEADFRAME_DB_CONN_MAX_AGE", 0)
        )
    except ValueError as exc:
        raise ImproperlyConfigured(f"HEADFRAME_DATABASE_REPLICA_URL is not a database URL: {exc}") from None
    if not (
        _replica["ENGINE"].startswith("django.db.backends.postgresql")
        and _database["ENGINE"].startswith("django.db.backends.postgresql")
    ):
        raise ImproperlyConfigured(
            "HEADFRAME_DATABASE_REPLICA_URL needs PostgreSQL for it and for HEADFRAME_DATABASE_URL "
            "(a streaming replica of the primary)"
        )
    _replica_options = _replica.setdefault("OPTIONS", {})
    _replica_options["options"] = (
        _replica_options.get("options", "") + f" -c lock_timeout={DATABASE_LOCK_TIMEOUT_S * 1000}"
    ).strip()
    _replica_options.setdefault("connect_timeout", 2)  # a replica that does not answer falls back quickly
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES["replica"] = _replica
    DATABASE_ROUTERS = ["headframe.core.db_router.ReplicaRouter"]
    MIDDLEWARE.insert(  # a session that posted reads the primary a while: the page it lands on shows its change
        MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware") + 1,
        "headframe.core.db_router.ReadYourWritesMiddleware",
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
# Log-in throttling (org.login, whose docstring gives the reasons), counted in the database so every worker sees
# the same numbers, within LOGIN_FAILURE_WINDOW_S: LOGIN_FAILURE_LIMIT failures for one user name at one address
# lock that user name at that address for LOGIN_LOCKOUT_S; LOGIN_ACCOUNT_FAILURE_LIMIT failures for one user name
# from any addresses lock it everywhere for LOGIN_LOCKOUT_S, except at addresses where the user logged in within
# LOGIN_KNOWN_ADDRESS_DAYS; LOGIN_ADDRESS_FAILURE_LIMIT failures from one address (any user names) slow that
# address down to one attempt per LOGIN_ADDRESS_LOCKOUT_S. 0 turns a limit off. An administrator unlocks early
# (admin action, `headframe unlock-login`).
LOGIN_FAILURE_LIMIT = _env_int("HEADFRAME_LOGIN_FAILURE_LIMIT", 5)
LOGIN_ACCOUNT_FAILURE_LIMIT = _env_int("HEADFRAME_LOGIN_ACCOUNT_FAILURE_LIMIT", 25)
LOGIN_KNOWN_ADDRESS_DAYS = _env_int("HEADFRAME_LOGIN_KNOWN_ADDRESS_DAYS", 30)
LOGIN_ADDRESS_FAILURE_LIMIT = _env_int("HEADFRAME_LOGIN_ADDRESS_FAILURE_LIMIT", 100)
LOGIN_ADDRESS_LOCKOUT_S = _env_int("HEADFRAME_LOGIN_ADDRESS_LOCKOUT_S", 60)
LOGIN_FAILURE_WINDOW_S = _env_int("HEADFRAME_LOGIN_FAILURE_WINDOW_S", 15 * 60)
LOGIN_LOCKOUT_S = _env_int("HEADFRAME_LOGIN_LOCKOUT_S", 15 * 60)
# Addresses (comma-separated IPs or networks, "*" for any) of the reverse proxies whose X-Forwarded-For and
# X-Forwarded-Proto `headframe serve` believes (uvicorn's forwarded_allow_ips): the client's address then reaches
# REMOTE_ADDR, which log-in throttling counts by. Default: a proxy on this host.
FORWARDED_ALLOW_IPS = os.environ.get("HEADFRAME_FORWARDED_ALLOW_IPS", "").strip() or "127.0.0.1,::1"
# Bearer tokens record their last use at most this often (a read never waits on, or fails by, that write).
TOKEN_TOUCH_INTERVAL_S = _env_int("HEADFRAME_TOKEN_TOUCH_INTERVAL_S", 5 * 60)
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "login"

# Vietnamese first, English second; formats from headframe/formats (1.234.567,8 and dd/mm/yyyy).
LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", "Tiếng Việt"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
FORMAT_MODULE_PATH = ["headframe.formats"]
USE_I18N = True
USE_THOUSAND_SEPARATOR = True
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_TZ = True  # stored in UTC, shown in Asia/Ho_Chi_Minh

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns at start-up when it is missing
WHITENOISE_USE_FINDERS = True  # serve vendored assets straight from the apps: no collectstatic for the demo
WHITENOISE_AUTOREFRESH = DEBUG

# How much lower than the rest of headframe the web workers of `serve` run (a Unix nice increment, 0–19): on a
# machine they share with ingest and the watchdog, alarms go before pages when the CPU is short.
WEB_NICE = _env_int("HEADFRAME_WEB_NICE", 5)
if not 0 <= WEB_NICE <= 19:
    raise ImproperlyConfigured(f"HEADFRAME_WEB_NICE must be between 0 and 19, got {WEB_NICE}")
# Page reads running their Python at once in one web process, and as many safety pages on turns of their own
# (core.middleware.PageTurnMiddleware); the others wait their turn. More threads than this only share one
# interpreter lock slice by slice: every page then takes as long as all of them together (measured in bench_load,
# docs/SCALING.md §8). Writes, event streams and the health check do not take a turn.
WEB_THREADS = _env_int("HEADFRAME_WEB_THREADS", 3)
if WEB_THREADS < 1:  # no turn at all would leave every page waiting
    raise ImproperlyConfigured(f"HEADFRAME_WEB_THREADS must be at least 1, got {WEB_THREADS}")

# Request bodies above this size are refused with 413 before anything parses them.
MAX_REQUEST_BODY_BYTES = _env_int("HEADFRAME_MAX_BODY_BYTES", 2 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES  # Django applies it to non-file fields only
MAX_UPLOAD_BODY_BYTES = _env_int(
    "HEADFRAME_MAX_UPLOAD_BYTES", 12 * 1024 * 1024
)  # multipart: photos, workbooks

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
_https = _env_bool("HEADFRAME_HTTPS", False)
SESSION_COOKIE_SECURE = _https
CSRF_COOKIE_SECURE = _https
SECURE_SSL_REDIRECT = _https
SECURE_HSTS_SECONDS = 31536000 if _https else 0
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if _https else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

NINJA_PAGINATION_PER_PAGE = 100

# Telemetry retention: raw readings and 1-minute aggregates are pruned after these many days (0 keeps them);
# 1-hour aggregates, alarms and their journal are kept.
TELEMETRY_RETENTION_RAW_DAYS = _env_int("HEADFRAME_TELEMETRY_RETENTION_RAW_DAYS", 90)
TELEMETRY_RETENTION_MINUTE_DAYS = _env_int("HEADFRAME_TELEMETRY_RETENTION_MINUTE_DAYS", 400)
# PostgreSQL: raw readings are partitioned by UTC day; the watchdog creates this many days of partitions ahead.
TELEMETRY_PARTITION_DAYS_AHEAD = _env_int("HEADFRAME_TELEMETRY_PARTITION_DAYS_AHEAD", 7)
TELEMETRY_MAX_AGE_S = _env_int("HEADFRAME_TELEMETRY_MAX_AGE_S", 7 * 86400)  # older readings are quarantined

# Where raw readings are kept: "sql" (the project database) or "victoriametrics" (raw history in VictoriaMetrics
# at HEADFRAME_VICTORIAMETRICS_URL, shipped through an outbox table; live state, alarms and aggregates stay in SQL).
READING_STORE = os.environ.get("HEADFRAME_READING_STORE", "sql").strip().lower() or "sql"
if READING_STORE not in ("sql", "victoriametrics"):
    raise ImproperlyConfigured(
        f"HEADFRAME_READING_STORE must be sql or victoriametrics, got {READING_STORE!r}"
    )
VICTORIAMETRICS_URL = (
    os.environ.get("HEADFRAME_VICTORIAMETRICS_URL", "").strip().rstrip("/") or "http://127.0.0.1:8428"
)
if not VICTORIAMETRICS_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(
        f"HEADFRAME_VICTORIAMETRICS_URL must be an http(s) URL, got {VICTORIAMETRICS_URL!r}"
    )

# Alarm notifications (headframe.notify): e-mail through Django's mail backends (SMTP by default) and JSON
# webhooks signed with a shared secret, delivered by a worker thread with retries; see README "Alarm notifications".
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = os.environ.get("HEADFRAME_EMAIL_HOST", "localhost")
EMAIL_PORT = _env_int("HEADFRAME_EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("HEADFRAME_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("HEADFRAME_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("HEADFRAME_EMAIL_USE_TLS", False)
NOTIFY_TIMEOUT_S = _env_int("HEADFRAME_NOTIFY_TIMEOUT_S", 5)  # per SMTP operation / webhook request
EMAIL_TIMEOUT = NOTIFY_TIMEOUT_S
DEFAULT_FROM_EMAIL = os.environ.get("HEADFRAME_EMAIL_FROM", "headframe@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
WEBHOOK_SECRET = os.environ.get("HEADFRAME_WEBHOOK_SECRET", "")
NOTIFY_MAX_ATTEMPTS = _env_int("HEADFRAME_NOTIFY_MAX_ATTEMPTS", 10)  # then "failed", and still listed
NOTIFY_SENDERS = 4  # deliveries sent at once, so one dead channel does not hold up the others

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Every line names the request it belongs to (our X-Request-ID, and the id the client or its proxy sent, if
    # it sent a sane one: core.failures), so a user's reference finds the traceback.
    "filters": {"request_id": {"()": "headframe.core.failures.RequestIdLogFilter"}},
    "formatters": {
        "default": {
            "format": "%(levelname)s %(name)s [request %(request_id)s client %(client_request_id)s] %(message)s"
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["request_id"], "formatter": "default"}
    },
    "root": {"handlers": ["console"], "level": os.environ.get("HEADFRAME_LOG_LEVEL", "WARNING")},
}

# Settings the code reads that have a default worth stating once, here (not as getattr fallbacks scattered in
# the code):
# inspection photos and signatures (backed up with the database by `headframe backup`);
MEDIA_ROOT = VAR_DIR / "media"
# packs and production dashboards are cached in memory until a new figure, alarm or directive arrives (off under
# tests: each test its own data);
PAGE_CACHE = _env_bool("HEADFRAME_PAGE_CACHE", not RUNNING_TESTS)
# Files under var/cache, shared by the web workers of a machine (`serve --workers N`): a page built by one is
# served by all. Entries are keyed by what they show (see production.selectors.dashboard), never invalidated by
# hand. The tests keep theirs in memory, cleared by the tests that turn the cache on.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    if RUNNING_TESTS
    else {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(VAR_DIR / "cache"),
        "TIMEOUT": 15 * 60,
        "OPTIONS": {"MAX_ENTRIES": 2000},
        # Entries are pickled objects of this version's code: an upgrade starts with an empty cache.
        "KEY_PREFIX": f"headframe-{headframe_version}",
    }
}
# the longest an alarm may be shelved (ISA-18.2: shelving always ends), in minutes;
TELEMETRY_MAX_SHELVE_MINUTES = _env_int("HEADFRAME_MAX_SHELVE_MINUTES", 8 * 60)
# the largest inspection photo accepted, in bytes.
SAFETY_PHOTO_MAX_BYTES = _env_int("HEADFRAME_SAFETY_PHOTO_MAX_BYTES", 8 * 1024 * 1024)
# people still underground this many minutes after their shift ends are overdue (lamp room, muster list).
WORKFORCE_GRACE_MINUTES = _env_int("HEADFRAME_WORKFORCE_GRACE_MINUTES", 30)
