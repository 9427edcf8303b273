from rest_framework.routers import SimpleRouter


class Router(SimpleRouter):
    """The contract's paths have no trailing slash (`/api/crm/customers`); accept both forms."""

    def __init__(self):
        super().__init__()
        self.trailing_slash = "/?"

    def get_lookup_regex(self, viewset, lookup_prefix=""):
        """Object ids are ASCII digits within bigint: `null,null`, `²` or a 25-digit id is a 404 at the router,
        before any view can turn it into a failing query. A viewset may still set its own lookup_value_regex."""
        lookup_field = getattr(viewset, "lookup_field", "pk")
        lookup_url_kwarg = getattr(viewset, "lookup_url_kwarg", None) or lookup_field
        default = "[0-9]{1,18}" if lookup_field in ("pk", "id") else "[^/.]+"
        lookup_value = getattr(viewset, "lookup_value_regex", default)
        return f"(?P<{lookup_prefix}{lookup_url_kwarg}>{lookup_value})"
