from __future__ import annotations

import hmac

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from brokercrm.api.schema import errors
from brokercrm.errors import InvalidSignature, NotFound, PermissionDenied
from customers.models import Customer
from customers.scoping import ScopedViewMixin, scoped_for
from teams import pii
from teams.permissions import ActionPermissions, require

from .. import conf, placeholders, services
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
from ..sms import analyze
from ..workflows import triggers_changed


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


class _TemplateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [ActionPermissions]
    pagination_class = None
    model = None
    send_permission = ""
    translation_serializer = None
    translation_put = None

    @extend_schema(request=None, responses={200: None, **errors(400, 401, 403, 404)})
    @action(detail=True, methods=["put", "get"], url_path=r"translations/(?P<locale>[A-Za-z_-]{2,16})")
    def translation(self, request, pk=None, locale=None):
        """GET or PUT one locale's translation; unknown placeholders are refused at save."""
        template = self.get_object()
        serializer = self.translation_serializer
        if request.method == "GET":
            found = template.translations.filter(locale=locale).first()
            if found is None:
                raise NotFound("No translation for that locale.")
            return Response(serializer(found).data)
        if not request.user.holds("communications.manage_templates"):
            raise PermissionDenied("Needs communications.manage_templates.")
        data = serializer(data=request.data)
        data.is_valid(raise_exception=True)
        translation = self.translation_put(template=template, locale=locale, by=request.user,
                                                 **data.validated_data)
        return Response(serializer(translation).data)


    def get_queryset(self):
        return self.model.objects.prefetch_related("translations")

    @extend_schema(request=TemplateIn, responses={201: None, **errors(400, 401, 403)})
    def create(self, request):
        data = TemplateIn(data=request.data)
        data.is_valid(raise_exception=True)
        template = services.template_create(kind="email" if self.model is EmailTemplate else "sms", by=request.user,
                                            **data.validated_data)
        return Response(self.get_serializer(template).data, status=201)

    @extend_schema(request=PreviewIn, responses={200: None, **errors(400, 401, 403, 404)})
    @action(detail=True, methods=["post"])
    def preview(self, request, pk=None):
        data = PreviewIn(data=request.data)
        data.is_valid(raise_exception=True)
        customer = None
        if data.validated_data.get("customer_id"):
            customer = scoped_for(Customer, request.user).filter(pk=data.validated_data["customer_id"]).first()
            if customer is None:
                raise NotFound("No such customer.")
        return Response(services.preview(template=self.get_object(), locale=data.validated_data.get("locale"),
                                         viewer=request.user, customer=customer,
                                         sample=data.validated_data.get("sample")))

    @extend_schema(request=SendIn, responses={202: None, **errors(400, 401, 403, 404)})
    @action(detail=True, methods=["post"])
    def send(self, request, pk=None):
        data = SendIn(data=request.data)
        data.is_valid(raise_exception=True)
        customer = scoped_for(Customer, request.user).filter(pk=data.validated_data["customer_id"]).first()
        if customer is None:
            raise NotFound("No such customer.")
        message = services.message_queue(customer=customer, template=self.get_object(), by=request.user)
        return Response(MessageOut(message, context={"request": request}).data, status=202)


class EmailTemplateViewSet(_TemplateViewSet):
    serializer_class = EmailTemplateOut
    model = EmailTemplate
    translation_serializer = EmailTranslationSerializer
    translation_put = staticmethod(services.email_translation_put)
    action_permissions = {"list": "communications.view_templates", "retrieve": "communications.view_templates",
                          "preview": "communications.view_templates", "send": "communications.send_email",
                          "translation": "communications.view_templates", "*": "communications.manage_templates"}


class SmsTemplateViewSet(_TemplateViewSet):
    serializer_class = SmsTemplateOut
    model = SmsTemplate
    translation_serializer = SmsTranslationSerializer
    translation_put = staticmethod(services.sms_translation_put)
    action_permissions = {"list": "communications.view_templates", "retrieve": "communications.view_templates",
                          "preview": "communications.view_templates", "send": "communications.send_sms",
                          "translation": "communications.view_templates", "*": "communications.manage_templates"}


class AnalyzeIn(serializers.Serializer):
    text = serializers.CharField(allow_blank=True, max_length=10000, trim_whitespace=False)


class SmsAnalyzeView(APIView):
    permission_classes = [require("communications.view_templates")]

    @extend_schema(request=AnalyzeIn, responses={200: None, **errors(400, 401, 403)})
    def post(self, request):
        data = AnalyzeIn(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(analyze(data.validated_data["text"]).to_dict())


class PlaceholderListView(APIView):
    permission_classes = [require("communications.view_templates")]

    @extend_schema(responses={200: None, **errors(401, 403)})
    def get(self, request):
        return Response([{"name": p.name, "description": p.description, "sample": p.sample, "default": p.default}
                         for p in placeholders.REGISTRY])


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


class CustomerCommunicationsView(ScopedViewMixin, APIView):
    """A customer's communication log (visible customers only; recipients masked per role)."""

    permission_classes = [require("customers.view")]

    @extend_schema(responses={200: MessageOut(many=True), **errors(401, 403, 404)})
    def get(self, request, customer_id: int):
        if not self.scoped(Customer).filter(pk=customer_id).exists():
            raise NotFound("Not found.")
        messages = self.scoped(Message).filter(customer_id=customer_id).select_related("customer")[:200]
        return Response(MessageOut(messages, many=True, context={"request": request}).data)


class CallbackIn(serializers.Serializer):
    id = serializers.CharField(max_length=120)
    status = serializers.CharField(max_length=20)


class DeliveryCallbackView(APIView):
    """Delivery reports from the SMS provider and the email relay, authenticated by X-Callback-Token."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(request=CallbackIn, responses={200: None, **errors(400, 401)})
    def post(self, request, channel: str):
        token = request.headers.get("X-Callback-Token", "")
        if not conf.COMMS_CALLBACK_TOKEN or not hmac.compare_digest(token, conf.COMMS_CALLBACK_TOKEN):
            raise InvalidSignature("Unknown caller.")
        data = CallbackIn(data=request.data)
        data.is_valid(raise_exception=True)
        message = services.delivery_callback(provider_id=data.validated_data["id"],
                                              status=data.validated_data["status"].lower())
        return Response({"status": message.status if message else "ignored"})


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
        from customers.models import Source

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
            if a["kind"] == "create_task" and (a["params"] or {}).get("team"):
                from teams.models import Team

                if not Team.objects.filter(name=a["params"]["team"]).exists():
                    raise serializers.ValidationError("create_task: unknown team (the queue of tasks for "
                                                      "customers without an agent).")
        return actions

    @transaction.atomic
    def create(self, validated):
        actions = validated.pop("actions")
        workflow = Workflow.objects.create(**validated)
        WorkflowAction.objects.bulk_create([WorkflowAction(workflow=workflow, **a) for a in actions])
        triggers_changed()
        return workflow

    @transaction.atomic
    def update(self, workflow, validated):
        actions = validated.pop("actions", None)
        for key, value in validated.items():
            setattr(workflow, key, value)
        workflow.save()
        if actions is not None:
            workflow.actions.all().delete()
            WorkflowAction.objects.bulk_create([WorkflowAction(workflow=workflow, **a) for a in actions])
        triggers_changed()
        return workflow


class WorkflowRunOut(serializers.ModelSerializer):
    log = serializers.SerializerMethodField()

    class Meta:
        model = WorkflowRun
        fields = ["id", "workflow", "event", "customer", "status", "log", "attempts", "created_at", "finished_at"]

    def get_log(self, obj) -> list:
        """Action outcomes and errors (an exception's text may quote the customer's email or phone)."""
        request = self.context.get("request")
        return pii.redact_data(obj.log, request.user if request else None, obj.customer)


class WorkflowViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, mixins.ListModelMixin,
                      mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = WorkflowSerializer
    queryset = Workflow.objects.prefetch_related("actions")
    permission_classes = [ActionPermissions]
    action_permissions = {"*": "platform.manage_workflows"}
    pagination_class = None

    @extend_schema(responses={200: WorkflowRunOut(many=True), **errors(401, 403, 404)})
    @action(detail=True, methods=["get"])
    def runs(self, request, pk=None):
        runs = self.get_object().runs.select_related("customer")[:100]
        return Response(WorkflowRunOut(runs, many=True, context={"request": request}).data)
