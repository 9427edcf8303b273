"""ASGI entry point: uvicorn serves the API, the workspace and the SSE streams (django-eventstream)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokercrm.settings")
application = get_asgi_application()
