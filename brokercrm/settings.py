"""BrokerCRM settings: one strict, environment-driven module.

Every variable has a default that is safe for development (see `.env.example`). With no DATABASE_URL and no
REDIS_URL the product runs on an embedded default that needs no server: SQLite, a filesystem Celery broker and
a filesystem cache. With both set it runs on PostgreSQL and Redis with no code change.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("BROKERCRM_VAR_DIR", BASE_DIR / "var"))


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    if raw not in ("true", "false"):
        raise ImproperlyConfigured(f"{name} must be 'true' or 'false', got {raw!r}")
    return raw == "true"


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None


def env_secret(name: str, *, needed: bool) -> str:
    """A shared secret from the environment; never derived from SECRET_KEY.

    Unset: with DEBUG off, refuse to start when the feature that uses it is on (`needed`), else return "" (the
    feature then refuses every caller). In development, a random secret is generated once and kept in
    VAR_DIR/secrets/<name> so that every local process (web, workers) shares it."""
    value = os.environ.get(name, "")
    if value:
        return value
    if not env_bool("DEBUG", True):
        if needed:
            raise ImproperlyConfigured(f"{name} must be set (a random value) when DEBUG=false and its feature is on")
        return ""
    path = VAR_DIR / "secrets" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    import secrets

    value = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)
_DEV_SECRET = "dev-only-insecure-secret-key-change-me-in-production-0123456789"
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET if DEBUG else "")
if not DEBUG and (not SECRET_KEY or SECRET_KEY == _DEV_SECRET or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured("SECRET_KEY must be set to a random value of 50+ characters when DEBUG=false")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "guardian",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_eventstream",
    "import_export",
    "pgtrigger",
    "django_htmx",
    "brokercrm",
    "teams",
    "customers",
    "ledger",
    "crm",
    "imports",
    "comms",
]
# Development tools (benchmarks `manage.py bench_*`, the process helpers of the end-to-end tests): installed in
# development and tests, never in production unless DEVTOOLS=true is asked for explicitly.
if env_bool("DEVTOOLS", DEBUG):
    INSTALLED_APPS.append("devtools")

CSRF_FAILURE_VIEW = "brokercrm.middleware.csrf_failure"  # the 403 page in the workspace layout (#14)
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "brokercrm.middleware.CSPMiddleware",  # django-csp's, its nonce-less header built once
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "brokercrm.middleware.TimeZoneMiddleware",
    "teams.twofactor.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "brokercrm.middleware.JsonErrorMiddleware",
    # django-axes must be the last middleware.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "brokercrm.urls"
ASGI_APPLICATION = "brokercrm.asgi.application"
WSGI_APPLICATION = "brokercrm.wsgi.application"

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
                "brokercrm.context_processors.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Under ASGI persistent per-thread connections pile up: use psycopg's pool instead.
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": env_int("DATABASE_POOL_MAX", 20),
            "timeout": 10,
        }
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "brokercrm.sqlite3",
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
            },
        }
    }
IS_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
# The hottest fixed statements (token lookup, a posting's) as prepared statements (brokercrm.rows.fixed_cursor);
# off behind a transaction-pooling proxy that cannot keep them (PgBouncer before 1.22 or without
# max_prepared_statements).
DATABASE_PREPARED_STATEMENTS = env_bool("DATABASE_PREPARED_STATEMENTS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, cache, Celery, events -----------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
    _url = REDIS_URL.split("://", 1)[1].rsplit("/", 1)[0]
    _host, _, _port = _url.rpartition("@")[2].partition(":")
    EVENTSTREAM_REDIS = {"host": _host or "127.0.0.1", "port": int(_port or 6379), "db": 0}
else:
    (VAR_DIR / "cache").mkdir(parents=True, exist_ok=True)
    (VAR_DIR / "broker").mkdir(parents=True, exist_ok=True)
    (VAR_DIR / "broker-control").mkdir(parents=True, exist_ok=True)
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(VAR_DIR / "broker"),
        "data_folder_out": str(VAR_DIR / "broker"),
        "control_folder": str(VAR_DIR / "broker-control"),
        "polling_interval": 0.2,  # seconds between looks at the folder (kombu's default, 1 s, slows every hop)
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Queues and routes by kind: brokercrm/celery.py. A worker that loses the broker gives its running tasks back
# (acks_late), and every ETA (paced import chunks) stays well under the Redis visibility_timeout above.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

EVENTSTREAM_CHANNELMANAGER_CLASS = "crm.channels.AccountChannelManager"

# --- Auth -----------------------------------------------------------------------------------------------------
AUTH_USER_MODEL = "teams.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "teams.backends.RoleBackend",
    "guardian.backends.ObjectPermissionBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"
# Lockouts: an account after AXES_FAILURE_LIMIT failures from any address, an address after AXES_IP_FAILURE_LIMIT
# failures over any accounts (teams.lockout.LockoutHandler). Unlock: POST /api/platform/users/<id>/unlock,
# the user admin's "Unlock" action, or `manage.py axes_reset_username <email>`.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_IP_FAILURE_LIMIT = env_int("AXES_IP_FAILURE_LIMIT", 20)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_HANDLER = "teams.lockout.LockoutHandler"
AXES_CLIENT_IP_CALLABLE = "brokercrm.clientip.client_ip"
AXES_USERNAME_CALLABLE = "teams.backends.axes_username"
AXES_LOCKOUT_CALLABLE = "teams.backends.axes_lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = env_bool("AXES_ENABLED", True)
# Staff 2FA (teams.twofactor): enforced, superusers and roles that can approve money or manage users/roles need it.
STAFF_2FA_ENFORCED = env_bool("STAFF_2FA_ENFORCED", not DEBUG)
OTP_TOTP_ISSUER = env_str("PLATFORM_NAME", "BrokerCRM")
GUARDIAN_MONKEY_PATCH_USER = False
ANONYMOUS_USER_NAME = None

# How many reverse proxies in front of the app append to X-Forwarded-For (0: the socket's address is the client,
# and X-Forwarded-For is ignored). Throttles and lockouts read the address through brokercrm.clientip.client_ip.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

# --- REST API -------------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "teams.authentication.StaffTokenAuthentication",
        "teams.authentication.StaffSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["teams.permissions.IsStaffUser"],
    "DEFAULT_PAGINATION_CLASS": "brokercrm.api.pagination.Cursor",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "brokercrm.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "brokercrm.api.schema.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "registration": env_str("REGISTRATION_RATE", "20/min"),
        "auth": env_str("AUTH_RATE", "30/min"),
    },
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "brokercrm.api.negotiation.RememberedNegotiation",
    "DEFAULT_PARSER_CLASSES": [
        "brokercrm.api.parsers.JSONParser",
        "brokercrm.api.parsers.MultiPartParser",
        "brokercrm.api.parsers.FormParser",
    ],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "BrokerCRM API",
    "DESCRIPTION": "Back office of a retail forex/CFD broker. Every error has the body "
    '`{"code", "detail", "fields"?}`.',
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # /api/docs/ serves Swagger UI's files itself (drf-spectacular-sidecar): no CDN, works offline, fits the CSP.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "PiiLevelEnum": "teams.constants.PiiLevel",
        "CustomerSourceEnum": "customers.models.Source",
        "KycDocumentKindEnum": "customers.kyc.models.DocumentKind",
        "KycDocumentStatusEnum": "customers.kyc.models.DocumentStatus",
        "RegistrationSourceEnum": [("organic", "organic"), ("affiliate", "affiliate"), ("promo", "promo")],
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "brokercrm.api.schema.strip_trailing_slashes",
        "brokercrm.api.schema.add_plain_django_paths",
    ],
}
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- i18n, static ---------------------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": VAR_DIR / "media"}},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
    # KYC documents (customers.kyc): a private directory outside MEDIA, or S3-compatible storage when
    # KYC_S3_BUCKET is set (django-storages; see docs/readme/kyc.md). Never served publicly.
    "kyc": {"BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": VAR_DIR / "private" / "kyc",
                        "file_permissions_mode": 0o600, "directory_permissions_mode": 0o700}},
}
if env_str("KYC_S3_BUCKET", ""):
    STORAGES["kyc"] = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": env_str("KYC_S3_BUCKET", ""),
        "endpoint_url": env_str("KYC_S3_ENDPOINT_URL", "") or None,
        "region_name": env_str("KYC_S3_REGION", "") or None,
        "access_key": env_str("KYC_S3_ACCESS_KEY_ID", "") or None,
        "secret_key": env_str("KYC_S3_SECRET_ACCESS_KEY", "") or None,
        "location": env_str("KYC_S3_PREFIX", "kyc"),
        "default_acl": "private", "querystring_auth": True, "querystring_expire": 300, "file_overwrite": False,
    }}

# --- Security (production) ------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Content-Security-Policy (django-csp 4 format), in every mode so that development sees what production enforces.
# Scripts and styles come from our own origin; the few inline scripts carry the per-request nonce (`csp_nonce`).

# The embedded payment cashiers (ledger/providers): BridgerPay's launcher script and iframe, Praxis's iframe. Add the
# cashier origin your Praxis account uses (its cashier URL's scheme://host) to PAYMENT_CASHIER_ORIGINS.
_bridgerpay_cashier = urlsplit(env_str("BRIDGERPAY_CASHIER_URL", "https://checkout.bridgerpay.com/v2/"))
PAYMENT_CASHIER_ORIGINS = env_list("PAYMENT_CASHIER_ORIGINS",
                                   [f"{_bridgerpay_cashier.scheme}://{_bridgerpay_cashier.netloc}"])
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE, *PAYMENT_CASHIER_ORIGINS],
        "frame-src": [SELF, *PAYMENT_CASHIER_ORIGINS],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- Email ----------------------------------------------------------------------------------------------------
EMAIL_URL = os.environ.get("EMAIL_HOST", "")
if EMAIL_URL:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = EMAIL_URL
    EMAIL_PORT = env_int("EMAIL_PORT", 587)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "BrokerCRM <no-reply@brokercrm.local>")

# --- Product settings -----------------------------------------------------------------------------------------
PLATFORM_NAME = env_str("PLATFORM_NAME", "BrokerCRM")
PRESENCE_TTL_SECONDS = 300
ACCOUNT_STREAM_MIN_INTERVAL_MS = 500

# Trading platform: "simulator" (built in, the embedded default) or "mt5" (MetaTrader 5 Manager Web API).
TRADING_PLATFORM = env_str("TRADING_PLATFORM", "simulator")
if TRADING_PLATFORM not in ("simulator", "mt5"):
    raise ImproperlyConfigured(f"TRADING_PLATFORM must be 'simulator' or 'mt5', got {TRADING_PLATFORM!r}")
MT5_WEBAPI_URL = env_str("MT5_WEBAPI_URL", "")
MT5_MANAGER_LOGIN = env_str("MT5_MANAGER_LOGIN", "")
MT5_MANAGER_PASSWORD = env_str("MT5_MANAGER_PASSWORD", "")
MT5_GROUP = env_str("MT5_GROUP", "real\\standard")
# Per-currency groups, e.g. MT5_GROUPS="EUR=real\eur,GBP=real\gbp"; other currencies join MT5_GROUP.
MT5_GROUPS = dict(item.split("=", 1) for item in env_list("MT5_GROUPS", []) if "=" in item)
MT5_LEVERAGE = env_int("MT5_LEVERAGE", 100)
MT5_TIMEOUT_SECONDS = env_int("MT5_TIMEOUT_SECONDS", 10)
MT5_VERIFY_TLS = env_bool("MT5_VERIFY_TLS", True)
if TRADING_PLATFORM == "mt5" and not (MT5_WEBAPI_URL and MT5_MANAGER_LOGIN and MT5_MANAGER_PASSWORD):
    raise ImproperlyConfigured("TRADING_PLATFORM=mt5 needs MT5_WEBAPI_URL, MT5_MANAGER_LOGIN and MT5_MANAGER_PASSWORD")
PLATFORM_SYNC_MAX_ATTEMPTS = env_int("PLATFORM_SYNC_MAX_ATTEMPTS", 8)
# The team whose queue gets a task when a platform sync fails for a customer without an agent.
PLATFORM_ALERT_TEAM = env_str("PLATFORM_ALERT_TEAM", "Finance & Compliance")
# The team whose queue gets the review task when a chargeback freezes a customer without an agent (crm.handlers).
FREEZE_TASK_TEAM = env_str("FREEZE_TASK_TEAM", "Finance & Compliance")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"},
                # httpx logs every URL at INFO: provider query strings may carry secrets (MT5 passwords).
                "httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
}
