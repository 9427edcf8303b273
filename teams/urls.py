from django.urls import path

from . import views

urlpatterns = [
    path("login/verify/", views.VerifyView.as_view(), name="login-verify"),
    path("account/2fa/", views.EnrolView.as_view(), name="account-2fa"),
    path("account/profile/", views.ProfileView.as_view(), name="account-profile"),
    # Administration (issue #14): the same services as /api/platform/teams, users, roles, audit-log.
    path("administration/", views.AdministrationView.as_view(), name="administration"),
    path("administration/teams/", views.TeamTreeView.as_view(), name="admin-teams"),
    path("administration/users/", views.UserListView.as_view(), name="admin-users"),
    path("administration/users/<int:pk>/", views.UserDetailView.as_view(), name="admin-user"),
    path("administration/roles/", views.RoleListView.as_view(), name="admin-roles"),
    path("administration/roles/<int:pk>/", views.RoleDetailView.as_view(), name="admin-role"),
    path("administration/audit-log/", views.AuditLogView.as_view(), name="admin-audit"),
]
