"""Input and output serializers of the communications API (templates, messages, workflows)."""

from __future__ import annotations

from rest_framework import serializers

from customers.models import Source
from teams import pii
from teams.models import Team

from ..models import (
    Category,
    EmailTemplate,
    EmailTranslation,
    Message,
    SmsTemplate,
    SmsTranslation,
    Workflow,
    WorkflowAction,
    WorkflowRun,
)


class TemplateIn(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    category = serializers.ChoiceField(choices=Category.choices, default=Category.TRANSACTIONAL)
    default_locale = serializers.CharField(max_length=16, default="en")


class EmailTranslationSerializer(serializers.ModelSerializer):
    class Meta:
        model = EmailTranslation
        fields = ["locale", "subject", "body_html", "body_text", "updated_at"]
        read_only_fields = ["locale", "updated_at"]


class SmsTranslationSerializer(serializers.ModelSerializer):
    class Meta:
        model = SmsTranslation
        fields = ["locale", "body", "updated_at"]
        read_only_fields = ["locale", "updated_at"]


class EmailTemplateOut(serializers.ModelSerializer):
    translations = EmailTranslationSerializer(many=True, read_only=True)

    class Meta:
        model = EmailTemplate
        fields = ["id", "name", "category", "default_locale", "translations", "created_at"]


class SmsTemplateOut(serializers.ModelSerializer):
    translations = SmsTranslationSerializer(many=True, read_only=True)

    class Meta:
        model = SmsTemplate
        fields = ["id", "name", "category", "default_locale", "translations", "created_at"]


class PreviewIn(serializers.Serializer):
    locale = serializers.CharField(max_length=16, required=False, allow_blank=True)
    customer_id = serializers.IntegerField(required=False)
    sample = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)


class SendIn(serializers.Serializer):
    customer_id = serializers.IntegerField()


class AnalyzeIn(serializers.Serializer):
    text = serializers.CharField(allow_blank=True, max_length=10000, trim_whitespace=False)


class MessageOut(serializers.ModelSerializer):
    """A communication-log entry. The rendered subject and the provider's error text may hold the customer's email
    and phone (a template with {{customer.email}}, an error quoting the number): shown per viewer like the
    recipient."""

    recipient = serializers.SerializerMethodField()
    subject = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = ["id", "customer", "channel", "template_name", "locale", "recipient", "subject", "status", "error",
                  "attempts", "created_at", "updated_at"]

    def get_recipient(self, obj) -> str | None:
        viewer = self.context["request"].user
        if obj.channel == "email":
            return pii.show_email(obj.recipient, viewer)
        return pii.show_phone(obj.recipient, viewer)

    def _redact(self, obj, text: str) -> str:
        viewer = self.context["request"].user
        if pii.sees_contacts(viewer):
            return text
        known = {"extra_emails": [obj.recipient]} if obj.channel == "email" else {"extra_phones": [obj.recipient]}
        return pii.redact_for(text, viewer, obj.customer, **known)

    def get_subject(self, obj) -> str:
        return self._redact(obj, obj.subject)

    def get_error(self, obj) -> str:
        return self._redact(obj, obj.error)


class CallbackIn(serializers.Serializer):
    id = serializers.CharField(max_length=120)
    status = serializers.CharField(max_length=20)


class ActionSerializer(serializers.ModelSerializer):
    class Meta:
        model = WorkflowAction
        fields = ["position", "kind", "params"]


class WorkflowSerializer(serializers.ModelSerializer):
    actions = ActionSerializer(many=True)

    class Meta:
        model = Workflow
        fields = ["id", "name", "trigger", "conditions", "is_active", "actions", "created_at"]
        read_only_fields = ["created_at"]

    def validate_conditions(self, conditions):
        if not isinstance(conditions, dict):  # a form-encoded body sends it as text
            raise serializers.ValidationError("Conditions are a JSON object.")
        for key in ("sources", "source"):
            values = conditions.get(key)
            if values in (None, []):
                continue
            if not isinstance(values, list) or any(v not in Source.values for v in values):
                raise serializers.ValidationError(f"{key}: a list of registration sources "
                                                  f"({', '.join(Source.values)}).")
        return conditions

    def validate_actions(self, actions):
        # A PATCH validates nested items partially too: position/kind may be missing here; params may be anything.
        for a in actions:
            missing = [name for name in ("position", "kind") if name not in a]
            if missing:
                raise serializers.ValidationError(f"Every action has {' and '.join(missing)}.")
            if not isinstance(a.setdefault("params", {}), dict):
                raise serializers.ValidationError("An action's params are an object.")
        positions = [a["position"] for a in actions]
        if len(set(positions)) != len(positions):
            raise serializers.ValidationError("Positions must be unique.")
        for a in actions:
            if a["kind"] in ("send_email", "send_sms"):
                model = EmailTemplate if a["kind"] == "send_email" else SmsTemplate
                template = a["params"].get("template")
                if not isinstance(template, str) or not model.objects.filter(name=template).exists():
                    raise serializers.ValidationError(f"{a['kind']}: params.template names an existing template.")
            team = a["kind"] == "create_task" and (a["params"] or {}).get("team")
            if team and not Team.objects.filter(name=team).exists():
                raise serializers.ValidationError("create_task: unknown team (the queue of tasks for "
                                                  "customers without an agent).")
        return actions


class WorkflowRunOut(serializers.ModelSerializer):
    log = serializers.SerializerMethodField()

    class Meta:
        model = WorkflowRun
        fields = ["id", "workflow", "event", "customer", "status", "log", "attempts", "created_at", "finished_at"]

    def get_log(self, obj) -> list:
        """Action outcomes and errors (an exception's text may quote the customer's email or phone)."""
        request = self.context.get("request")
        return pii.redact_data(obj.log, request.user if request else None, obj.customer)
