from django.urls import path

from brokercrm.api.routers import Router

from . import views

router = Router()
router.register("roles", views.RoleViewSet, basename="role")
router.register("users", views.UserViewSet, basename="user")
router.register("teams", views.TeamViewSet, basename="team")
router.register("audit-log", views.AuditLogViewSet, basename="audit-log")

urlpatterns = [path("permissions", views.PermissionListView.as_view(), name="permissions"), *router.urls]
