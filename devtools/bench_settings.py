"""The real settings plus the benchmarks' anchor views (devtools.bench_urls); used only by bench processes."""

from brokercrm.settings import *  # noqa: F401,F403

ROOT_URLCONF = "devtools.bench_urls"
