"""Customers app configuration (environment-driven)."""

from brokercrm.settings import env_int

RETENTION_CHURNING_DAYS = env_int("RETENTION_CHURNING_DAYS", 30)
RETENTION_DORMANT_DAYS = env_int("RETENTION_DORMANT_DAYS", 90)
