"""Teams app configuration (environment-driven)."""

from django.core.exceptions import ImproperlyConfigured

from brokercrm.settings import env_int

# Lifetime of an API token from `POST /api/auth/token`, in days.
API_TOKEN_TTL_DAYS = env_int("API_TOKEN_TTL_DAYS", 30)
if API_TOKEN_TTL_DAYS < 1:
    raise ImproperlyConfigured(f"API_TOKEN_TTL_DAYS must be at least 1, got {API_TOKEN_TTL_DAYS}")
