"""KYC configuration from the environment (the broker's switches are the `KycSettings` row; docs/readme/kyc.md)."""

from brokercrm.settings import env_int, env_str

# Largest accepted upload, in bytes (413 too_large beyond it).
KYC_MAX_UPLOAD_BYTES = env_int("KYC_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
# Lifetime of a document's download link (GET /api/crm/documents/<id>/file), in seconds.
KYC_LINK_TTL_SECONDS = env_int("KYC_LINK_TTL_SECONDS", 300)
# The team whose queue gets the review task when documents are about to expire (crm.handlers).
KYC_TASK_TEAM = env_str("KYC_TASK_TEAM", "") or "Finance & Compliance"

# Sumsub (empty: the adapter is off). SUMSUB_API_URL is https://api.sumsub.com in production.
SUMSUB_API_URL = env_str("SUMSUB_API_URL", "")
SUMSUB_APP_TOKEN = env_str("SUMSUB_APP_TOKEN", "")
SUMSUB_SECRET_KEY = env_str("SUMSUB_SECRET_KEY", "")
SUMSUB_WEBHOOK_SECRET = env_str("SUMSUB_WEBHOOK_SECRET", "")
SUMSUB_LEVEL_NAME = env_str("SUMSUB_LEVEL_NAME", "") or "basic-kyc-level"
