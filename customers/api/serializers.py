"""Customer output: every email and phone passes through teams.pii for the viewer in `context["request"]`."""

from __future__ import annotations

from rest_framework import serializers

from teams import pii

from ..models import Customer


class AccountBrief(serializers.Serializer):
    login = serializers.IntegerField()
    currency = serializers.CharField()
    balance = serializers.DecimalField(max_digits=18, decimal_places=2, coerce_to_string=True)
    credit = serializers.DecimalField(max_digits=18, decimal_places=2, coerce_to_string=True)


class CustomerOut(serializers.ModelSerializer):
    email = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField()
    assigned_to = serializers.SerializerMethodField()
    team = serializers.SerializerMethodField()
    group = serializers.SlugRelatedField(slug_field="name", read_only=True)
    online = serializers.SerializerMethodField()
    accounts = AccountBrief(many=True, read_only=True)
    retention = serializers.CharField(source="retention_class", read_only=True)

    class Meta:
        model = Customer
        fields = [
            "id", "first_name", "last_name", "email", "phone", "country", "locale", "source", "group",
            "assigned_to", "team", "sales_status", "kyc_status", "finance_status", "retention", "online",
            "accounts", "affiliate_lead_id", "marketing_consent", "possible_duplicate_of", "duplicate_score",
            "registered_at", "last_login_at", "last_activity_at", "last_deposit_at",
        ]
        read_only_fields = fields

    def _viewer(self):
        request = self.context.get("request")
        return request.user if request else None

    def get_email(self, obj) -> str | None:
        return pii.show_email(obj.email, self._viewer())

    def get_phone(self, obj) -> str | None:
        return pii.show_phone(obj.phone, self._viewer())

    def get_assigned_to(self, obj) -> dict | None:
        agent = obj.assigned_to
        return {"id": agent.id, "name": agent.get_full_name() or agent.email} if agent else None

    def get_team(self, obj) -> dict | None:
        return {"id": obj.team.id, "name": obj.team.name} if obj.team else None

    def get_online(self, obj) -> bool:
        online = self.context.get("online")
        if online is None:
            from ..presence import presence_online

            online = presence_online([obj.pk])
        return obj.pk in online


class CustomerPatch(serializers.Serializer):
    first_name = serializers.CharField(max_length=80, required=False)
    last_name = serializers.CharField(max_length=80, required=False)
    locale = serializers.CharField(max_length=16, required=False)
    marketing_consent = serializers.BooleanField(required=False)
    assigned_to = serializers.IntegerField(required=False, allow_null=True)
