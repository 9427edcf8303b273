"""Test override: the real settings, plus what makes tests fast and deterministic."""

from .settings import *  # noqa: F401,F403
from .settings import PASSWORD_HASHERS, REST_FRAMEWORK

# Argon2 stays first for production; tests hash thousands of passwords, so use a cheap hasher first.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {**REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]}}
AXES_ENABLED = True
