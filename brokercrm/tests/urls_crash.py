"""The project's URLs plus a page that crashes, for the 500 page tests (#14)."""

from django.urls import include, path

from brokercrm.urls import handler400, handler403, handler404, handler500  # noqa: F401 (the handlers stay in force)


def crash(request):
    raise RuntimeError("boom with secret@example.com inside")


urlpatterns = [
    path("crash/", crash),
    path("api/crash", crash),
    path("", include("brokercrm.urls")),
]
