"""K-MEME Factory settings, read from the environment (django-environ).

Every variable is listed with a comment in `.env.example`. With no `.env` and no
variables at all, the defaults describe the local development stack that
`make run` starts (PostgreSQL and Redis on 127.0.0.1, on the ports this checkout's
`.local/ports` names; DEBUG on, AI providers off). Production (`DJANGO_DEBUG=false`)
has no defaults for secrets or hosts and refuses to start without them.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta
from pathlib import Path

import environ
from corsheaders.defaults import default_headers as cors_default_headers
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DJANGO_DEBUG", default=True)

# Local development defaults: only ever used when DEBUG is on.
# Each checkout's services run on their own ports (so two checkouts never share a database), which
# scripts/services.sh chooses and writes to .local/ports; KMEME_PG_PORT / KMEME_REDIS_PORT in the
# environment or .env win (read_env never overrides a variable already set). 54320/63790 are
# only the fallback for a checkout whose services were never started.
if DEBUG and (BASE_DIR / ".local" / "ports").is_file():
    env.read_env(BASE_DIR / ".local" / "ports")
_DEV_DATABASE_URL = f"postgis://kmeme:kmeme@127.0.0.1:{env.int('KMEME_PG_PORT', default=54320)}/kmeme"
_DEV_REDIS_URL = f"redis://127.0.0.1:{env.int('KMEME_REDIS_PORT', default=63790)}/0"
_DEV_SECRET_KEY = "dev-only-insecure-key-never-used-in-production-0123456789abcdef"  # noqa: S105

if not DEBUG:
    _missing = [name for name in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL") if not env.str(name, default="")]
    if _missing:
        raise ImproperlyConfigured(
            "Production mode (DJANGO_DEBUG=false) needs these environment variables: "
            + ", ".join(_missing)
            + ". See .env.example for what each one means."
        )

SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else "")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "kmeme.apps.KmemeAdminConfig",  # django.contrib.admin, with the review queue as its landing page
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "procrastinate.contrib.django",
    "accounts.apps.SignInLockoutsConfig",  # django-axes; before accounts, whose signal handlers run after axes' own
    "django_otp",
    "accounts.apps.TwoFactorDevicesConfig",  # django-otp's TOTP devices; before accounts, whose admin replaces theirs
    "kmeme",
    "kmeme.ai",  # the AI call ledger: infrastructure, below every app
    "accounts",
    "remix",
    "genealogy",
    "campaigns",
    "privacy",  # data rights: export and anonymization, above every app whose data it reads
    "operations",  # /metrics and the alert rules: reads every app's figures, so above them all
]

MIDDLEWARE = [
    # django-prometheus times every request per view and method (first and last, so it sees the whole stack);
    # operations.latency keeps the API's durations in Redis, shared by every process, for the P95 alert.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "operations.latency.ApiLatencyMiddleware",
    "kmeme.middleware.RequestIdMiddleware",
    "kmeme.middleware.ApiRequestLogMiddleware",  # one `api_request` line per API request, with the final status
    # PostgreSQL or Redis unreachable: the 500 of any middleware or view below becomes a 503 with Retry-After.
    "kmeme.availability.ServiceUnavailableMiddleware",
    "kmeme.middleware.ApiCacheControlMiddleware",  # outside the rest: it sees the final response
    "kmeme.middleware.BaselineContentSecurityPolicyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",  # cookie, then Accept-Language (after sessions, before common)
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): the session passed the second factor
    # A session that still owes its second factor reaches only the admin's second-factor page; elsewhere it is
    # anonymous (the API's session authentication included).
    "accounts.two_factor.SecondFactorMiddleware",
    "accounts.language.UserLanguageMiddleware",  # a signed-in staff member's own choice wins over the browser's
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # turns a locked-out sign-in into the lockout page
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "kmeme.urls"
WSGI_APPLICATION = "kmeme.wsgi.application"
ASGI_APPLICATION = "kmeme.asgi.application"

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

# --- Database: PostgreSQL with PostGIS and pgvector -------------------------
DATABASES = {"default": env.db_url("DATABASE_URL", default=_DEV_DATABASE_URL)}
# GeoDjango needs the PostGIS backend whatever scheme (postgres://, postgresql://) the URL used.
DATABASES["default"]["ENGINE"] = "django.contrib.gis.db.backends.postgis"
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int("DB_CONNECT_TIMEOUT", default=5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, rate limits, quotas --------------------------------------
REDIS_URL = env.str("REDIS_URL", default=_DEV_REDIS_URL if DEBUG else "")
if not REDIS_URL:
    raise ImproperlyConfigured("REDIS_URL is required in production mode (cache, rate limits and quotas use it).")
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="kmeme"),
        "TIMEOUT": 3600,
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SOCKET_CONNECT_TIMEOUT": 2,
            "SOCKET_TIMEOUT": 2,
        },
    }
}
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- Auth --------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# Axes first: it refuses a locked-out sign-in before the password is even checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Admin sign-in lockout (django-axes): this many wrong passwords for one account (from anywhere), or from one client
# address (over any accounts: password spraying), lock that account or address for this many minutes. Attempts during
# a lockout are refused, even with the right password, and neither counted nor extend it. The account's counter is
# keyed by its address as stored, whatever case was typed. An admin unlocks early (accounts.lockout.sign_in_unlock).
ADMIN_LOGIN_FAILURE_LIMIT = env.int("ADMIN_LOGIN_FAILURE_LIMIT", default=5)
ADMIN_LOGIN_LOCKOUT_MINUTES = env.int("ADMIN_LOGIN_LOCKOUT_MINUTES", default=15)
if ADMIN_LOGIN_FAILURE_LIMIT < 1 or ADMIN_LOGIN_LOCKOUT_MINUTES < 1:
    raise ImproperlyConfigured("ADMIN_LOGIN_FAILURE_LIMIT and ADMIN_LOGIN_LOCKOUT_MINUTES must be at least 1.")
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"  # lockouts survive restarts and show in the admin
AXES_FAILURE_LIMIT = ADMIN_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=ADMIN_LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # two separate counters, either one locks
AXES_USERNAME_FORM_FIELD = "username"  # the admin login form's field (it holds the email)
AXES_USERNAME_CALLABLE = "accounts.lockout.sign_in_lockout_key"
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.sign_in_client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.sign_in_locked_out_response"
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_DISABLE_ACCESS_LOG = True  # failures and lockouts are in our audit log; successful sign-ins need no second log
AXES_ENABLE_ADMIN = False  # accounts.admin shows the lockouts, with an audited unlock action
AXES_VERBOSE = False
# Second factor (django-otp TOTP) for the admin. Required for every staff account when on (the default in
# production; off in development so `make run`'s printed login works at once); whatever this says, an account with
# a TOTP device (enrolled by its owner, or required by an admin) must use it.
# Empty counts as unset (a .env copied from .env.example must not switch it off in production).
_require_2fa = env.str("ADMIN_REQUIRE_2FA", default="").strip().lower()
if _require_2fa not in ("", "true", "false", "on", "off", "yes", "no", "1", "0"):
    raise ImproperlyConfigured(f"ADMIN_REQUIRE_2FA must be true or false, not {_require_2fa!r}.")
ADMIN_REQUIRE_2FA = (not DEBUG) if not _require_2fa else _require_2fa in ("true", "on", "yes", "1")
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="K-MEME Factory")
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # a device's secret is shown once, to its owner, on the enrolment page

# --- Internationalisation ------------------------------------------------------
# Korean first: the editors are Korean staff. English is there for whoever asks for it: a signed-in staff member's
# choice (the switch in the admin header, kept on their account), else the language cookie, else Accept-Language.
# The project's catalogue is locale/ko (compiled by scripts/provision.sh; tests/kmeme/test_i18n.py fails on a
# string without a Korean translation). API error codes never change with the language; their messages do.
LANGUAGE_CODE = "ko"
LANGUAGES = [("ko", "한국어"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Seoul")
USE_I18N = True
USE_TZ = True

# --- Static and media ------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / ".local" / "static")
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / ".local" / "media")
# WhiteNoise serves static files in every mode (gunicorn has no static server); in development
# it reads them straight from the apps, so no collectstatic is needed.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
# Media (downloaded videos, later uploads): the local folder, or S3 when a bucket is named.
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
_default_storage: dict = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
if AWS_STORAGE_BUCKET_NAME:
    _missing_s3 = [
        n for n in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_S3_REGION_NAME") if not env.str(n, default="")
    ]
    if _missing_s3:
        raise ImproperlyConfigured(f"AWS_STORAGE_BUCKET_NAME is set, so S3 media needs: {', '.join(_missing_s3)}.")
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "access_key": env.str("AWS_ACCESS_KEY_ID"),
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY"),
            "region_name": env.str("AWS_S3_REGION_NAME"),
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
            "signature_version": "s3v4",
            "default_acl": None,
            "querystring_expire": 3600,  # presigned links valid 1 h
            "url_protocol": "https:",
            "file_overwrite": False,
        },
    }
# An S3-compatible endpoint other than AWS's own (MinIO, SeaweedFS, the test suite's loopback server). Uploads hand
# out presigned URLs on https only; an http endpoint is for tests and local development, never production.
AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default="") or None  # django-storages reads it too
if AWS_S3_ENDPOINT_URL and not AWS_S3_ENDPOINT_URL.startswith("https://") and not DEBUG:
    raise ImproperlyConfigured("AWS_S3_ENDPOINT_URL must be https in production: upload URLs are handed to browsers.")
# Video uploads (accounts.uploads; README, "Uploads"): the largest file, how long an upload URL works, and how many
# uploads one user may have started and not yet finished (whose URLs still work) at once.
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=200 * 1024 * 1024)
UPLOAD_URL_TTL_S = env.int("UPLOAD_URL_TTL_S", default=3600)
UPLOAD_PENDING_MAX = env.int("UPLOAD_PENDING_MAX", default=5)
UPLOAD_RATE_LIMITS = env.list("UPLOAD_RATE_LIMITS", default=["20/h"])
if UPLOAD_MAX_BYTES < 1 or UPLOAD_URL_TTL_S < 60 or UPLOAD_PENDING_MAX < 1:
    raise ImproperlyConfigured(
        "UPLOAD_MAX_BYTES and UPLOAD_PENDING_MAX must be positive, UPLOAD_URL_TTL_S at least 60."
    )
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- API rate limits (DRF throttles counted in Redis, kmeme/throttles.py) and free-form JSON caps ---------------
# Every anonymous request counts against `anon` (per client IP), every signed-in one against `user` (per user), every
# signed-in write (POST/PUT/PATCH/DELETE) against `write` too; similar search, forking and signing in add their own.
THROTTLE_RATES = {
    "anon": env.str("THROTTLE_ANON_RATE", default="60/minute"),
    "user": env.str("THROTTLE_USER_RATE", default="600/minute"),
    "write": env.str("THROTTLE_WRITE_RATE", default="30/minute"),
    "fork": env.str("THROTTLE_FORK_RATE", default="10/hour"),
    "similar": env.str("THROTTLE_SIMILAR_RATE", default="20/minute"),
    "auth": env.str("THROTTLE_AUTH_RATE", default="20/minute"),
}
for _scope, _rate in THROTTLE_RATES.items():
    if not re.fullmatch(r"[1-9][0-9]*/(second|minute|hour|day)", _rate):
        raise ImproperlyConfigured(
            f"THROTTLE_{_scope.upper()}_RATE is {_rate!r}: write a count per second, minute, hour or day, "
            "e.g. 60/minute."
        )
# Free-form JSON a client sends (a fork's `profile`): compact UTF-8 size and nesting depth, past either a 400.
JSON_FIELD_MAX_BYTES = env.int("JSON_FIELD_MAX_BYTES", default=16 * 1024)
JSON_FIELD_MAX_DEPTH = env.int("JSON_FIELD_MAX_DEPTH", default=8)

# --- DRF, OpenAPI, JWT, CORS ---------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only, through one strict decoder: NaN/1e999, NUL, lone surrogates and deep nesting are a 400.
    "DEFAULT_PARSER_CLASSES": ["kmeme.parsers.StrictJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "kmeme.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "kmeme.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "kmeme.errors.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "kmeme.throttles.AnonThrottle",
        "kmeme.throttles.UserThrottle",
        "kmeme.throttles.WriteThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": THROTTLE_RATES,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # How many proxies in front of us append to X-Forwarded-For; throttles key on the client address
    # that many hops back. 0: trust only the socket's address, so a client cannot pick its own.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "K-MEME Factory API",
    "DESCRIPTION": (
        "Published remix recipes, forks, genealogy and O2O brand campaigns. "
        'Every error has the shape `{"error": {"status", "code", "message", "details", "request_id"}}`; '
        "branch on `code`, never on `message`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a `status`; name each choice set after its model.
    "ENUM_NAME_OVERRIDES": {
        "NodeStatusEnum": "remix.models.NodeStatus",
        "AnalysisStatusEnum": "remix.models.AnalysisStatus",
        "ReviewStatusEnum": "remix.models.ReviewStatus",
        "CampaignStatusEnum": "campaigns.models.CampaignStatus",
        "ParticipationStatusEnum": "campaigns.models.ParticipationStatus",
    },
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=30)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY),
    "USER_ID_FIELD": "id",
    "UPDATE_LAST_LOGIN": False,
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
}
# Firebase Authentication: ID tokens from the frontend are verified with firebase-admin.
FIREBASE_PROJECT_ID = env.str("FIREBASE_PROJECT_ID", default="kmeme-local")
# A service-account JSON file; without it, tokens are verified against Google's public keys only.
FIREBASE_CREDENTIALS_FILE = env.str("FIREBASE_CREDENTIALS_FILE", default="")
# host:port of the Firebase Auth emulator (local development and tests); firebase-admin reads it too.
FIREBASE_AUTH_EMULATOR_HOST = env.str("FIREBASE_AUTH_EMULATOR_HOST", default="")
if FIREBASE_AUTH_EMULATOR_HOST and not DEBUG:
    raise ImproperlyConfigured(
        "FIREBASE_AUTH_EMULATOR_HOST is set in production: emulator mode accepts unsigned tokens, "
        "so anyone could sign in as anyone. Unset it."
    )
# Request bodies over 1 MiB are refused (413 in the error shape); nothing the API takes needs more.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1024 * 1024)
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=["http://localhost:3000"] if DEBUG else [])
CORS_URLS_REGEX = r"^/api/.*$"
# The frontend may send Idempotency-Key (kmeme.idempotency) and read when to retry (429, 503, 409 in progress) and
# whether an answer was a replay; browsers hide every response header not listed here from a cross-origin page.
CORS_ALLOW_HEADERS = (*cors_default_headers, "idempotency-key")
CORS_EXPOSE_HEADERS = ["Retry-After", "Idempotent-Replayed", "X-Request-ID"]


# --- AI providers: each is off while its key is empty --------------------------------
GEMINI_API_KEY = env.str("GEMINI_API_KEY", default="")
ANTHROPIC_API_KEY = env.str("ANTHROPIC_API_KEY", default="")
# Base URLs: empty means the providers' public endpoints (tests point them at loopback doubles).
GEMINI_BASE_URL = env.str("GEMINI_BASE_URL", default="")
ANTHROPIC_BASE_URL = env.str("ANTHROPIC_BASE_URL", default="")
# Current models as listed by the installed SDKs (google-genai 3.x, anthropic 2.x).
GEMINI_MODEL = env.str("GEMINI_MODEL", default="gemini-3.8-flash")
GEMINI_EMBEDDING_MODEL = env.str("GEMINI_EMBEDDING_MODEL", default="gemini-embedding-2")
CLAUDE_MODEL = env.str("CLAUDE_MODEL", default="claude-sonnet-5-5")
# Which embeddings similar search uses; the two kinds are never mixed (run rebuild_embeddings after a change).
EMBEDDINGS_PROVIDER = env.str("EMBEDDINGS_PROVIDER", default="local")
if EMBEDDINGS_PROVIDER not in ("local", "gemini"):
    raise ImproperlyConfigured("EMBEDDINGS_PROVIDER must be 'local' or 'gemini'.")
if EMBEDDINGS_PROVIDER == "gemini" and not GEMINI_API_KEY:
    raise ImproperlyConfigured("EMBEDDINGS_PROVIDER=gemini needs GEMINI_API_KEY.")
# USD per million tokens (input, output). Check against the providers' price pages when changing models.
AI_PRICES: dict[str, tuple[float, float]] = {
    "gemini-3.8-flash": (0.30, 2.50),
    "gemini-3.5-flash": (0.30, 2.50),
    "gemini-3.1-pro-preview": (2.00, 12.00),
    "gemini-embedding-2": (0.15, 0.0),
    "claude-sonnet-5-5": (3.00, 15.00),
    "claude-haiku-5-5": (1.00, 5.00),
    "claude-opus-5-5": (5.00, 25.00),
}
AI_PRICES.update(env.json("AI_PRICES_JSON", default={}))
for _model in (GEMINI_MODEL, CLAUDE_MODEL):
    if _model not in AI_PRICES:
        raise ImproperlyConfigured(
            f"No price for model '{_model}': add it to AI_PRICES_JSON, "
            f'e.g. {{"{_model}": [input_usd_per_mtok, output_usd_per_mtok]}}.'
        )
LLM_MONTHLY_CAP = env.float("LLM_MONTHLY_CAP", default=50.0)
AI_TIMEOUT_S = env.float("AI_TIMEOUT_S", default=60.0)  # one socket read (or connect) of a provider call
# The whole provider call, every attempt and the waits between them included: a provider (or a proxy) trickling
# bytes is cut off here, however slowly they come. Reservations expire a minute after it.
AI_CALL_DEADLINE_S = env.float("AI_CALL_DEADLINE_S", default=180.0)
# Nodes that fell back because a provider was down are analysed again once it answers (remix.recovery):
# at most this many times each, within this many hours of the fallback, this many a minute.
# A node still in analysis this long after it entered it, with no job queued or running for it, goes to manual
# review (remix.recovery.nodes_stranded_release); longer than a job's retries take (5+25+125+625 s of waits).
PIPELINE_STRANDED_AFTER_S = env.int("PIPELINE_STRANDED_AFTER_S", default=1800)
AI_AUTO_RETRY_MAX = env.int("AI_AUTO_RETRY_MAX", default=3)
AI_AUTO_RETRY_WINDOW_H = env.int("AI_AUTO_RETRY_WINDOW_H", default=24)
AI_AUTO_RETRY_BATCH = env.int("AI_AUTO_RETRY_BATCH", default=20)
AI_RETRY_ATTEMPTS = env.int("AI_RETRY_ATTEMPTS", default=3)
AI_RETRY_WAIT_MIN_S = env.float("AI_RETRY_WAIT_MIN_S", default=2.0)
AI_RETRY_WAIT_MAX_S = env.float("AI_RETRY_WAIT_MAX_S", default=10.0)
AI_CIRCUIT_FAILURES = env.int("AI_CIRCUIT_FAILURES", default=5)
AI_CIRCUIT_COOLDOWN_S = env.int("AI_CIRCUIT_COOLDOWN_S", default=60)
GEMINI_MAX_OUTPUT_TOKENS = env.int("GEMINI_MAX_OUTPUT_TOKENS", default=4096)
CLAUDE_MAX_OUTPUT_TOKENS = env.int("CLAUDE_MAX_OUTPUT_TOKENS", default=4096)
GEMINI_INLINE_MAX_BYTES = env.int("GEMINI_INLINE_MAX_BYTES", default=20 * 1024 * 1024)
GEMINI_FILE_ACTIVE_TIMEOUT_S = env.float("GEMINI_FILE_ACTIVE_TIMEOUT_S", default=120.0)
GEMINI_FILE_POLL_S = env.float("GEMINI_FILE_POLL_S", default=2.0)
GEMINI_CACHE_TTL_S = env.int("GEMINI_CACHE_TTL_S", default=24 * 3600)
# Words a brief may not contain (checked before an editor sees it); comma-separated to extend.
AI_FORBIDDEN_WORDS = [
    *env.list("AI_FORBIDDEN_WORDS", default=[]),
    *("도박", "카지노", "마약", "대마", "불법 다운로드", "gambling", "casino", "cocaine", "pirated"),
]

# --- Analyses: media limits, rate limits and the daily quota ----------------------------
MEDIA_MAX_BYTES = env.int("MEDIA_MAX_BYTES", default=200 * 1024 * 1024)
MEDIA_MAX_DURATION_S = env.int("MEDIA_MAX_DURATION_S", default=600)
MEDIA_FETCH_TIMEOUT_S = env.float("MEDIA_FETCH_TIMEOUT_S", default=30.0)
# Fetch links that resolve to private/loopback addresses (off: submitted URLs must be public).
MEDIA_ALLOW_PRIVATE_HOSTS = env.bool("MEDIA_ALLOW_PRIVATE_HOSTS", default=False)
ANALYSIS_RATE_LIMITS = env.list("ANALYSIS_RATE_LIMITS", default=["10/m", "100/h"])
# The performance collector (genealogy.performance): reads of each platform's public counters per minute, counted
# in Redis across workers ("default" for a platform not listed), and how long one run may wait for a new minute.
PERFORMANCE_READS_PER_MINUTE = env.dict(
    "PERFORMANCE_READS_PER_MINUTE",
    cast={"value": int},
    default={"youtube": 30, "youtube_shorts": 30, "tiktok": 20, "instagram": 10, "direct": 30, "default": 30},
)
PERFORMANCE_RUN_MAX_WAIT_S = env.float("PERFORMANCE_RUN_MAX_WAIT_S", default=40 * 60.0)
ANALYSIS_DAILY_QUOTA = env.int("ANALYSIS_DAILY_QUOTA", default=50)

# Editors' review locks (remix.review_locks): how long a lock lives without a heartbeat, how often the review page
# sends one, and after how long without the editor touching the page it stops (a forgotten tab lets go).
REVIEW_LOCK_SECONDS = env.int("REVIEW_LOCK_SECONDS", default=120)
REVIEW_HEARTBEAT_SECONDS = env.int("REVIEW_HEARTBEAT_SECONDS", default=30)
REVIEW_IDLE_SECONDS = env.int("REVIEW_IDLE_SECONDS", default=600)
RATELIMIT_USE_CACHE = "default"

# --- Background jobs (procrastinate; `manage.py worker`) -----------------------------------------
# A worker records a heartbeat every JOB_HEARTBEAT_S seconds. A job still marked running whose worker has sent none
# for JOB_STALLED_AFTER_S (the worker was killed, or lost the database) is queued again by
# kmeme.tasks.jobs_retry_stalled, which runs every minute: such a job is back within JOB_STALLED_AFTER_S + 60 s.
# The margin of several missed heartbeats keeps a busy but live worker's job from being started twice.
JOB_HEARTBEAT_S = env.float("JOB_HEARTBEAT_S", default=10.0)
JOB_STALLED_AFTER_S = env.float("JOB_STALLED_AFTER_S", default=60.0)
if JOB_HEARTBEAT_S <= 0 or JOB_STALLED_AFTER_S < 3 * JOB_HEARTBEAT_S:
    raise ImproperlyConfigured(
        f"JOB_STALLED_AFTER_S ({JOB_STALLED_AFTER_S:g}) must be at least three heartbeats "
        f"(3 × JOB_HEARTBEAT_S = {3 * JOB_HEARTBEAT_S:g}), and JOB_HEARTBEAT_S positive."
    )
# A starting worker also forgets workers silent for that long (their running jobs then count as stalled).
PROCRASTINATE_WORKER_DEFAULTS = {
    "update_heartbeat_interval": JOB_HEARTBEAT_S,
    "stalled_worker_timeout": JOB_STALLED_AFTER_S,
}

# --- Backups (kmeme.backups; README, "Backups and restore") -------------------------------------
# The pgBackRest configuration the nightly job (kmeme.tasks.db_backup_nightly) backs up with. Local development: the
# one scripts/backup.sh writes for this checkout's cluster. Where the database runs on another host or is managed,
# leave it empty: backups are then taken there (the database host's cron, or the provider's PITR).
_LOCAL_PGBACKREST_CONFIG = BASE_DIR / ".local" / "pgbackrest" / "pgbackrest.conf"
PGBACKREST_CONFIG = env.str(
    "PGBACKREST_CONFIG",
    default=str(_LOCAL_PGBACKREST_CONFIG) if DEBUG and not env.str("DATABASE_URL", default="") else "",
)
PGBACKREST_STANZA = env.str("PGBACKREST_STANZA", default="kmeme")
PGBACKREST_TIMEOUT_S = env.float("PGBACKREST_TIMEOUT_S", default=4 * 3600.0)

# Debian 12 ships GDAL 3.6; Django asks for 3.9+ so GDAL can be told to refuse file and network
# access while parsing spatial references. Nothing here hands user text to GDAL: positions arrive
# as numeric longitude/latitude and become GEOS points, and SRIDs are fixed integers.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

# --- Security ------------------------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if env.bool("USE_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^health$", r"^ready$"]  # load balancer probes speak plain HTTP
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- Operations: /metrics and alerts (operations/; README, "Operations") -------------------------------------------
# /metrics answers a scraper that sends `Authorization: Bearer <METRICS_TOKEN>`, or whose address (the peer's, or
# NUM_PROXIES hops back in X-Forwarded-For) is in METRICS_ALLOWED_IPS (addresses or networks). In development it is
# also open to loopback. In production with neither set, /metrics is switched off (404): it is an integration like
# the others, switched on by its variables, and refused at start-up when they are malformed.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
if METRICS_TOKEN and len(METRICS_TOKEN) < 24:
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 24 characters (e.g. `openssl rand -hex 24`).")
METRICS_ALLOWED_IPS = [ip.strip() for ip in env.list("METRICS_ALLOWED_IPS", default=[]) if ip.strip()]
for _network in METRICS_ALLOWED_IPS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS: {_network!r} is not an address or network.") from _exc
# The business gauges are read from the database at scrape time; several scrapers (or a Prometheus pair) within this
# many seconds share one reading per process.
METRICS_CACHE_S = env.float("METRICS_CACHE_S", default=5.0)
# Latency histogram buckets (seconds) of django-prometheus and of the API latency kept in Redis: 0.3 (the ops target)
# and 0.5 (the alert) are edges, so "P95 above 500 ms" is decided exactly.
PROMETHEUS_LATENCY_BUCKETS = (
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 30.0, float("inf")
)  # fmt: skip
# Alerts (operations.alerts) are posted to this Slack incoming webhook when a rule starts firing and when it resolves;
# empty: the admin's alert history only. Links in the posts point at SITE_URL's admin.
SLACK_WEBHOOK_URL = env.str("SLACK_WEBHOOK_URL", default="")
SITE_URL = env.str("SITE_URL", default=f"http://127.0.0.1:{env.int('KMEME_PORT', default=8000)}" if DEBUG else "")
if SLACK_WEBHOOK_URL and not SITE_URL:
    raise ImproperlyConfigured("SLACK_WEBHOOK_URL is set, so SITE_URL (e.g. https://kmeme.example) is needed too.")
if SLACK_WEBHOOK_URL and not DEBUG and not SLACK_WEBHOOK_URL.startswith("https://"):
    raise ImproperlyConfigured("SLACK_WEBHOOK_URL must be an https:// URL in production.")
SITE_URL = SITE_URL.rstrip("/")
SLACK_TIMEOUT_S = env.float("SLACK_TIMEOUT_S", default=10.0)
# A rate rule needs at least this many events in its window (AI calls, pipeline runs, API requests, verified
# participations) before it may fire: one failure out of three must not page anyone.
ALERT_MIN_SAMPLE = env.int("ALERT_MIN_SAMPLE", default=20)
if ALERT_MIN_SAMPLE < 1:
    raise ImproperlyConfigured("ALERT_MIN_SAMPLE must be at least 1.")

# --- Logging: one JSON object a line ---------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "kmeme.logging.RequestIdFilter"},
        "personal_data": {"()": "kmeme.logging.PersonalDataFilter"},  # emails and phone numbers never logged
    },
    "formatters": {
        "json": {"()": "kmeme.logging.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env.str("LOG_FORMAT", default="plain" if DEBUG else "json"),
            "filters": ["request_id", "personal_data"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Replace Django's own console handler, so every line is printed once, in our format.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.db.backends": {"level": "INFO"},
        "procrastinate": {"level": "INFO"},
        "procrastinate.blueprints": {"level": "WARNING"},
        "procrastinate.periodic": {"level": "WARNING"},
        "procrastinate.jobs": {"level": "WARNING"},
        # axes logs every sign-in at INFO; failures and lockouts are in the audit log and at WARNING here.
        "axes": {"level": "WARNING"},
        # The SDKs' HTTP clients log every request at INFO; our own call log says what matters.
        "httpx2": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "google_genai": {"level": "WARNING"},
        "anthropic": {"level": "WARNING"},
    },
}

# --- Sentry: on when SENTRY_DSN is set -------------------------------------------------------
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration

    from kmeme.logging import personal_data_redact, sentry_before_send

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        integrations=[DjangoIntegration()],
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.1),
        send_default_pii=False,  # users, cookies and IPs stay out
        before_send=sentry_before_send,  # emails and phone numbers redacted from every event
        before_breadcrumb=lambda crumb, hint: personal_data_redact(crumb),
        environment=env.str("SENTRY_ENVIRONMENT", default="development" if DEBUG else "production"),
    )

# --- Local development ---------------------------------------------------------------------------
DEV_ADMIN_EMAIL = env.str("DEV_ADMIN_EMAIL", default="admin@kmeme.local")

# The current version of each consent's terms: a decision on an older version no longer counts (accounts.Consent).
# TERMS_VERSION, once set, is the terms of service in force, and a first sign-in (sign-up) must come with consent to
# it and to the privacy policy (POST /auth/firebase's `consents`).
TERMS_VERSION = env.str("TERMS_VERSION", default="")
SIGNUP_CONSENT_REQUIRED = bool(TERMS_VERSION)
CONSENT_TERMS_VERSIONS = {
    "terms": TERMS_VERSION or env.str("CONSENT_TERMS_VERSION", default="2026-01"),
    "privacy": env.str("CONSENT_PRIVACY_VERSION", default="2026-01"),
    "marketing": env.str("CONSENT_MARKETING_VERSION", default="2026-01"),
    "third_party": env.str("CONSENT_THIRD_PARTY_VERSION", default="2026-01"),
    "location": env.str("CONSENT_LOCATION_VERSION", default="2026-01"),
}
