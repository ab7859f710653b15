"""Settings of the union loan-subsidy portal: one module, read from the environment.

Development runs with no variables at all except ``DEBUG=1`` (SQLite file in the project,
Celery tasks run eagerly in-process). Production sets ``DATABASE_URL`` (PostgreSQL),
``REDIS_URL`` (Celery broker and result store), ``SECRET_KEY`` and ``ALLOWED_HOSTS``;
a missing secret stops start-up with a clear message rather than falling back to a default.
Every variable is listed with its values in README.md and ``.env.example``.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env") if (BASE_DIR / ".env").exists() else None

DEBUG = env.bool("DEBUG", default=False)

_DEV_SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. Set the SECRET_KEY environment variable "
        "(a long random string), or DEBUG=1 for local development."
    )

# Personal data at rest (gonghui/pii.py): Fernet keys for resident IDs and mobile numbers
# (comma-separated; the first encrypts, all decrypt, for rotation) and the HMAC key of their
# lookup hashes. Like SECRET_KEY: fixed development-only values when DEBUG, required otherwise.
_DEV_FIELD_ENCRYPTION_KEY = "ZGV2ZWxvcG1lbnQtb25seS1rZXktbmV2ZXItcHJvZCE="
_DEV_PII_HASH_KEY = "development-only-pii-hash-key-never-use-in-production"
FIELD_ENCRYPTION_KEY = env.list(
    "FIELD_ENCRYPTION_KEY", default=[_DEV_FIELD_ENCRYPTION_KEY] if DEBUG else []
)
if not FIELD_ENCRYPTION_KEY:
    raise ImproperlyConfigured(
        'FIELD_ENCRYPTION_KEY is not set. Set it to a Fernet key (python3 -c "from '
        'cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"), '
        "or DEBUG=1 for local development."
    )
try:
    from cryptography.fernet import Fernet

    for _key in FIELD_ENCRYPTION_KEY:
        Fernet(_key.encode("ascii"))
except ValueError:
    raise ImproperlyConfigured(
        "FIELD_ENCRYPTION_KEY must be comma-separated Fernet keys (32 url-safe base64 bytes)."
    ) from None
PII_HASH_KEY = env.str("PII_HASH_KEY", default=_DEV_PII_HASH_KEY if DEBUG else "")
if not PII_HASH_KEY or (not DEBUG and len(PII_HASH_KEY) < 32):
    raise ImproperlyConfigured(
        "PII_HASH_KEY is not set or shorter than 32 characters. Set it to a long random "
        "string, or DEBUG=1 for local development."
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "knox",
    "import_export",
    "django_celery_beat",
    "axes",
    "csp",
    "simple_history",
    "loans",
    "quotas",
    "subsidies",
    "reports",
    # Last, so its post_migrate handler sees every other app's permissions.
    "accounts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "gonghui.middleware.ApiResidentIdMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "gonghui.middleware.SessionTimeoutMiddleware",
    "gonghui.middleware.NoStoreMiddleware",
    "gonghui.middleware.DatabaseUnavailableMiddleware",
    # Last: it turns a locked-out login into the lockout page (AXES_LOCKOUT_TEMPLATE).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "gonghui.urls"

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
                "accounts.context_processors.portal",
            ],
        },
    },
]

WSGI_APPLICATION = "gonghui.wsgi.application"

# Database: DATABASE_URL (e.g. postgres://user:pass@host:5432/gonghui); absent, a SQLite
# file in the project so the quick start needs no server.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Passwords set through the admin, `changepassword` or a password form are checked by these.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Celery: REDIS_URL is broker and result store; absent, tasks run eagerly in-process
# so the quick start needs no Redis and no worker.
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
# 批量导入: seconds one step (check or import) may run; the task's limits are 30/60 s more.
IMPORT_TIME_LIMIT = env.int("IMPORT_TIME_LIMIT", default=300)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_TRACK_STARTED = True
CELERY_RESULT_EXPIRES = timedelta(days=1)
# A worker that vanished mid-task (acks_late): Redis redelivers its message after this many
# seconds. Longer than the longest task, or a slow task would be delivered twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
}
# Every schedule, in one place, in Asia/Shanghai. `migrate` writes them into
# django-celery-beat's tables (gonghui.celery.install_schedules), so they show in the admin
# (定时任务) before beat first starts; beat re-applies the same entries when it starts.
CELERY_BEAT_SCHEDULE = {
    "send-daily-digest": {
        "task": "reports.tasks.send_daily_digest",
        "schedule": crontab(hour=7, minute=30),
    },
    # Bank callbacks whose queued attempt was lost (broker down) or is due for a retry.
    "redeliver-pending-webhooks": {
        "task": "loans.tasks.redeliver_pending",
        "schedule": crontab(minute="*/5"),
    },
    # 附件3 is due on the 2nd: build the month just ended at 01:00 that day.
    "build-monthly-snapshots": {
        "task": "reports.tasks.build_monthly_snapshots",
        "schedule": crontab(hour=1, minute=0, day_of_month=2),
    },
    # The daily claim scan (its name predates this list: kept so existing rows match).
    "每日生成到期贴息申请": {
        "task": "subsidies.scan_due_claims",
        "schedule": crontab(hour=1, minute=30),
    },
    # Outbox messages whose on-commit publish failed (broker down) or was lost.
    "sweep-outbox": {
        "task": "reports.tasks.sweep_outbox",
        "schedule": crontab(minute="*"),
    },
    "delete-old-exports": {
        "task": "reports.tasks.delete_old_exports",
        "schedule": crontab(hour=3, minute=15),
    },
    "delete-old-imports": {
        "task": "loans.tasks.delete_old_imports",
        "schedule": crontab(hour=3, minute=20),
    },
    # The worker heartbeat that /healthz reads (stale after 180 s).
    "record-worker-heartbeat": {
        "task": "gonghui.health.record_heartbeat",
        "schedule": crontab(minute="*"),
    },
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.org:587; the console by default.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="gonghui@localhost")
# Absolute links in e-mails (the daily digest), e.g. https://gonghui.example.org
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="")

# Security: production (DEBUG off) gets HTTPS-only cookies, HSTS and redirects, so that
# `manage.py check --deploy` has nothing left that settings could fix.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Load balancers and container probes ask over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# Sessions end after SESSION_IDLE_TIMEOUT without a request and, however active, after
# SESSION_ABSOLUTE_TIMEOUT from the login (gonghui.middleware.SessionTimeoutMiddleware).
SESSION_IDLE_TIMEOUT = timedelta(minutes=30)
SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=10)
SESSION_COOKIE_AGE = int(SESSION_ABSOLUTE_TIMEOUT.total_seconds())

# Content Security Policy (django-csp), in development too so that a page which would break
# under it breaks in the tests: scripts and style sheets only from our own static files.
# Style attributes stay allowed (progress-bar widths are computed per row); they cannot run
# code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# Login lockout (django-axes): AXES_FAILURE_LIMIT wrong passwords for one user name lock that
# name out for AXES_COOLOFF_TIME (by name, not address: behind the reverse proxy every client
# has the proxy's address). `manage.py axes_reset_username <name>` lifts a lockout early.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False  # no start-up banner on every manage.py command
# axes.W006 asks for the address among the lockout parameters; by address, one office
# behind a shared NAT (or every client behind our proxy) would lock itself out at once.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

# /healthz: the worker's heartbeat (written every minute by beat's record-worker-heartbeat
# task) counts as stale after this many seconds.
HEALTHZ_HEARTBEAT_MAX_AGE = 180

# Bank REST API (/api/v1/): knox tokens (stored hashed, expiring) for bank officers, the
# session for staff; one exception handler gives every error the same JSON shape.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["gonghui.api.IsPortalUser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    # django-filter; a search action reads the filters from its body (loans/api/search.py).
    "DEFAULT_FILTER_BACKENDS": ["loans.api.search.ListFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "gonghui.api.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": ["gonghui.api.BankRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "bank": "600/min",
        "user": "600/min",
        "anon": "120/min",
    },
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "gonghui.api.api_exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "DATE_FORMAT": "iso-8601",
    "DATETIME_FORMAT": "iso-8601",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
REST_KNOX = {
    "AUTH_HEADER_PREFIX": "Token",
    "TOKEN_TTL": timedelta(days=90),
    "AUTO_REFRESH": False,
}
# Idempotency-Key records are kept this long (at least 24 hours, issue 5).
API_IDEMPOTENCY_HOURS = 24
SPECTACULAR_SETTINGS = {
    "TITLE": "工会创业贷款贴息平台 API",
    "DESCRIPTION": (
        "Bank REST API of the union loan-subsidy portal. Authenticate with "
        "`Authorization: Token <key>` (issued by `manage.py issue_api_token`). Money is a "
        'decimal string in 元 with two places, rates are percent strings ("4.75"), dates '
        "ISO 8601. Every POST by a bank needs an `Idempotency-Key` header. Errors are "
        '`{"code": ..., "message": ..., "fields": {field: [messages]}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "ApplicationStatusEnum": "loans.choices.ApplicationStatus",
        "LoanStatusEnum": "loans.choices.LoanStatus",
        "ClaimStatusEnum": "subsidies.choices.ClaimStatus",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
