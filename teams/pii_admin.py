"""The admin's door for free text: a read-only admin that shows its text fields through `teams.pii`."""

from brokercrm.admin import ReadOnlyAdmin

from . import pii


class RedactedAdmin(ReadOnlyAdmin):
    """A read-only admin whose free-text fields (`redacted_fields`: text or JSON) are shown through `teams.pii`
    for the viewer, in the list and on the detail page, like every other door. `redacted_customer(obj)` gives the
    customer the text is about (their own email and phone are known); by default `obj.customer`."""

    redacted_fields: tuple[str, ...] = ()

    def redacted_customer(self, obj):
        return getattr(obj, "customer", None)

    def _redacted(self, request) -> dict:
        # Closures over the request: the admin instance is shared between requests, so no state on self.
        def column(name):
            def show(obj):
                viewer = request.user
                customer = None if pii.sees_contacts(viewer) else self.redacted_customer(obj)
                return pii.redact_data(getattr(obj, name), viewer, customer)

            show.short_description = name.replace("_", " ")
            return show

        return {name: column(name) for name in self.redacted_fields}

    def get_list_display(self, request):
        shown = self._redacted(request)
        return [shown.get(name, name) if isinstance(name, str) else name
                for name in super().get_list_display(request)]

    def get_exclude(self, request, obj=None):
        return [*(super().get_exclude(request, obj) or []), *self.redacted_fields]

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), *self._redacted(request).values()]
