from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from brokercrm.api.schema import errors

from .. import lockout, selectors, services
from ..constants import PERMISSIONS
from ..permissions import ActionPermissions, IsStaffUser
from .serializers import (
    AuditOut,
    PermissionOut,
    RoleIn,
    RoleOut,
    TeamIn,
    TeamOut,
    UserIn,
    UserOut,
    UserPatch,
)


class PermissionListView(APIView):
    """The 32 permissions of the catalog in their 7 categories."""

    permission_classes = [IsStaffUser]

    @extend_schema(responses={200: PermissionOut(many=True), **errors(401)})
    def get(self, request):
        return Response([{"code": p.code, "category": p.category, "description": p.description} for p in PERMISSIONS])


class RoleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = RoleOut
    permission_classes = [ActionPermissions]
    action_permissions = {"*": "administration.manage_roles"}

    def get_queryset(self):
        return selectors.role_list(user=self.request.user)

    @extend_schema(request=RoleIn, responses={201: RoleOut, **errors(400, 401, 403)})
    def create(self, request):
        data = RoleIn(data=request.data)
        data.is_valid(raise_exception=True)
        role = services.role_create(by=request.user, **data.validated_data)
        return Response(RoleOut(role).data, status=201)

    @extend_schema(request=RoleIn, responses={200: RoleOut, **errors(400, 401, 403, 404)})
    def partial_update(self, request, pk=None):
        data = RoleIn(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        role = services.role_update(by=request.user, role=self.get_object(), **data.validated_data)
        return Response(RoleOut(role).data)


class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = UserOut
    permission_classes = [ActionPermissions]
    action_permissions = {"list": "administration.view_teams", "retrieve": "administration.view_teams",
                          "*": "administration.manage_users"}

    def get_queryset(self):
        return selectors.user_list(user=self.request.user)

    @extend_schema(request=UserIn, responses={201: UserOut, **errors(400, 401, 403)})
    def create(self, request):
        data = UserIn(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_create(by=request.user, **data.validated_data)
        return Response(UserOut(user).data, status=201)

    @extend_schema(request=UserPatch, responses={200: UserOut, **errors(400, 401, 403, 404)})
    def partial_update(self, request, pk=None):
        data = UserPatch(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        user = services.user_update(by=request.user, user=self.get_object(), **data.validated_data)
        return Response(UserOut(user).data)

    @extend_schema(request=None, responses={
        200: inline_serializer("UserUnlockOut", {"id": serializers.IntegerField(),
                                                 "cleared_failures": serializers.IntegerField()}),
        **errors(401, 403, 404)})
    @action(detail=True, methods=["post"])
    def unlock(self, request, pk=None):
        """Lift a login lockout of this user (failed logins from every address are forgotten)."""
        user = self.get_object()
        cleared = lockout.user_unlock(by=request.user, user=user)
        return Response({"id": user.pk, "cleared_failures": cleared})


class TeamViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = TeamOut
    permission_classes = [ActionPermissions]
    action_permissions = {"list": "administration.view_teams", "retrieve": "administration.view_teams",
                          "*": "administration.manage_teams"}
    pagination_class = None

    def get_queryset(self):
        return selectors.team_list(user=self.request.user)

    @extend_schema(request=TeamIn, responses={201: TeamOut, **errors(400, 401, 403)})
    def create(self, request):
        data = TeamIn(data=request.data)
        data.is_valid(raise_exception=True)
        team = services.team_create(by=request.user, **data.validated_data)
        return Response(TeamOut(team).data, status=201)

    @extend_schema(request=TeamIn, responses={200: TeamOut, **errors(400, 401, 403, 404, 409)})
    def partial_update(self, request, pk=None):
        data = TeamIn(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        team = self.get_object()
        values = dict(data.validated_data)
        with transaction.atomic():  # a refused lead change must not leave the move behind
            if "parent" in values:
                team = services.team_move(by=request.user, team=team, new_parent=values.pop("parent"))
            if values:
                team = services.team_update(by=request.user, team=team, **values)
        return Response(TeamOut(team).data)


class AuditLogViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = AuditOut
    permission_classes = [ActionPermissions]
    action_permissions = {"*": "administration.view_audit_log"}

    def get_queryset(self):
        return selectors.audit_list(user=self.request.user)
