"""ASGI entry point of the embedded default (no Redis, `scripts/run.sh`): the web application with the trading
simulator running in the same process. Without Redis, live events cannot cross processes, so the process that
serves the SSE streams has to produce them; with Redis the simulator is its own process (`manage.py run_simulator`).

Starting it here rather than in `CrmConfig.ready()` keeps app loading free of side effects: management commands,
workers and tests never start a simulator thread."""

from brokercrm.asgi import application

from .simulator import start_in_process

start_in_process()

__all__ = ["application"]
