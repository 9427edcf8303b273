"""Communications settings from the environment."""

from brokercrm.settings import env_int, env_secret, env_str

# An HTTP SMS provider: POST {SMS_PROVIDER_URL}/messages {"to", "body", "reference", "callback_url"} with a bearer
# key → {"id"}. Unset: SMS go to the log (the embedded default's console provider).
SMS_PROVIDER_URL = env_str("SMS_PROVIDER_URL", "")
SMS_PROVIDER_KEY = env_str("SMS_PROVIDER_KEY", "")
SMS_SENDER_ID = env_str("SMS_SENDER_ID", "BrokerCRM")
# Shared secret the SMS provider and the email relay send in X-Callback-Token with delivery callbacks. Required in
# production when an SMS provider is configured; unset, the callback endpoint refuses every caller.
COMMS_CALLBACK_TOKEN = env_secret("COMMS_CALLBACK_TOKEN", needed=bool(SMS_PROVIDER_URL))
SEND_MAX_RETRIES = env_int("COMMS_SEND_MAX_RETRIES", 5)
BROKER_SUPPORT_EMAIL = env_str("BROKER_SUPPORT_EMAIL", "support@brokercrm.local")
BROKER_WEBSITE_URL = env_str("BROKER_WEBSITE_URL", "https://brokercrm.local")
BROKER_COMPANY_NAME = env_str("BROKER_COMPANY_NAME", "BrokerCRM Ltd")


def env_rate(name: str, default: str) -> float:
    """A send rate such as `10/s`, `600/m` or `10` (per second); `0` = unpaced."""
    from django.core.exceptions import ImproperlyConfigured

    raw = env_str(name, default).strip().lower()
    number, _, unit = raw.partition("/")
    try:
        value = float(number)
        per = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}[unit.strip()]
    except (ValueError, KeyError):
        raise ImproperlyConfigured(f"{name} must look like 10/s, 600/m or 0, got {raw!r}") from None
    if value < 0:
        raise ImproperlyConfigured(f"{name} must not be negative")
    return value / per


# Sends are paced per channel across every worker (a shared token bucket in Redis, a file lock on the embedded
# default), so that a campaign never floods the SMTP relay or the SMS provider. 0 = unpaced.
COMMS_EMAIL_RATE = env_rate("COMMS_EMAIL_RATE", "10/s")
COMMS_SMS_RATE = env_rate("COMMS_SMS_RATE", "5/s")
# A send waits in its worker at most this long for its turn; beyond, it is re-queued for its turn.
COMMS_PACE_MAX_WAIT = env_int("COMMS_PACE_MAX_WAIT", 2)
# A provider's 429 Retry-After is honoured up to this many seconds (longer asks are capped, then retried).
COMMS_RETRY_AFTER_MAX = env_int("COMMS_RETRY_AFTER_MAX", 900)
# Workflow fan-out: runs per batch task (a bulk registration of 50,000 leads is 50,000 / N tasks, not 50,000).
WORKFLOW_BATCH_SIZE = env_int("COMMS_WORKFLOW_BATCH_SIZE", 200)
# The team queue of tasks a workflow creates for a customer without an agent, when the action names no team.
WORKFLOW_TASK_TEAM = env_str("COMMS_WORKFLOW_TASK_TEAM", "")
