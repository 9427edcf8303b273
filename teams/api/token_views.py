"""A staff member's own API tokens: list them, revoke one (`/api/auth/tokens`)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from brokercrm.api.errors import ApiError
from brokercrm.api.schema import errors

from ..models import ApiToken
from ..permissions import IsStaffUser
from ..tokens import token_list, token_revoke


class ApiTokenOut(serializers.ModelSerializer):
    current = serializers.SerializerMethodField(help_text="Whether this request authenticated with this token.")

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "expires_at", "current"]

    def get_current(self, token) -> bool:
        auth = self.context.get("auth")
        return isinstance(auth, ApiToken) and auth.pk == token.pk


class TokenListView(APIView):
    """The caller's API tokens that have not expired (the key itself is never shown again)."""

    permission_classes = [IsStaffUser]

    @extend_schema(responses={200: ApiTokenOut(many=True), **errors(401)})
    def get(self, request):
        tokens = token_list(user=request.user)
        return Response(ApiTokenOut(tokens, many=True, context={"auth": request.auth}).data)


class TokenDetailView(APIView):
    """Revoke one of the caller's own tokens; another user's token is 404."""

    permission_classes = [IsStaffUser]

    @extend_schema(request=None, responses={204: None, **errors(401, 404)})
    def delete(self, request, id: int):
        token = ApiToken.objects.filter(pk=id, user=request.user).first()
        if token is None:
            raise ApiError(404, "not_found", "Not found.")
        token_revoke(token=token, by=request.user)
        return Response(status=204)
