from rest_framework.routers import SimpleRouter


class Router(SimpleRouter):
    """The contract's paths have no trailing slash (`/api/crm/customers`); accept both forms."""

    def __init__(self):
        super().__init__()
        self.trailing_slash = "/?"
