"""Development-only tools: the benchmarks behind `make bench` and the helpers that start real processes
(uvicorn, Celery workers) for the end-to-end tests. Installed when DEBUG is on (or DEVTOOLS=true), never imported
by the product's apps; it sits above every layer (see .importlinter)."""
