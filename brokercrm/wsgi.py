"""WSGI entry point (management tooling only: SSE streams need ASGI)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokercrm.settings")
application = get_wsgi_application()
