"""CSV import settings from the environment."""

from brokercrm.settings import env_int

IMPORT_RATE_PER_SECOND = env_int("IMPORT_RATE_PER_SECOND", 10)  # the sheet's default pace
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 50_000)
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 20 * 1024 * 1024)
IMPORT_PARALLELISM = env_int("IMPORT_PARALLELISM", 2)  # processing tasks per job (they share the job's pace)
IMPORT_STALE_SECONDS = env_int("IMPORT_STALE_SECONDS", 60)  # a running job silent this long is resumed
