"""Payment provider settings, from the environment. Unset providers are simply not routable."""

from brokercrm.settings import DEBUG, env_bool, env_int, env_secret, env_str

PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://127.0.0.1:8000")

BRIDGERPAY_API_URL = env_str("BRIDGERPAY_API_URL", "")  # e.g. https://api.bridgerpay.com
BRIDGERPAY_USER_NAME = env_str("BRIDGERPAY_USER_NAME", "")
BRIDGERPAY_PASSWORD = env_str("BRIDGERPAY_PASSWORD", "")
BRIDGERPAY_API_KEY = env_str("BRIDGERPAY_API_KEY", "")
BRIDGERPAY_CASHIER_KEY = env_str("BRIDGERPAY_CASHIER_KEY", "")
BRIDGERPAY_CASHIER_URL = env_str("BRIDGERPAY_CASHIER_URL", "https://checkout.bridgerpay.com/v2/")

PRAXIS_API_URL = env_str("PRAXIS_API_URL", "")  # e.g. https://pci-gw-test.praxispay.com
PRAXIS_MERCHANT_ID = env_str("PRAXIS_MERCHANT_ID", "")
PRAXIS_APPLICATION_KEY = env_str("PRAXIS_APPLICATION_KEY", "")
PRAXIS_SECRET = env_str("PRAXIS_SECRET", "")

# The sandbox provider: on by default only in DEBUG (the embedded default), so a demo deposit completes.
SANDBOX_PAYMENTS_ENABLED = env_bool("SANDBOX_PAYMENTS_ENABLED", DEBUG)
# Signs the sandbox cashier's notifications; production refuses to start with the sandbox on and this unset.
SANDBOX_SECRET = env_secret("SANDBOX_PAYMENTS_SECRET", needed=SANDBOX_PAYMENTS_ENABLED)

# FX rates: the ECB's daily euro reference rates (empty: no automatic update). A transaction that needs a rate
# older than FX_RATE_MAX_AGE_HOURS is refused (409 fx_rate_unavailable); 96 h survives a weekend.
ECB_RATES_URL = env_str("ECB_RATES_URL", "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml")
FX_RATE_MAX_AGE_HOURS = env_int("FX_RATE_MAX_AGE_HOURS", 96)
