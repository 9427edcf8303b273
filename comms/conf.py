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
