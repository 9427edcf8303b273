from __future__ import annotations

import hmac

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from brokercrm.api.schema import errors
from brokercrm.errors import InvalidSignature, NotFound, PermissionDenied
from customers.scoping import ScopedViewMixin
from teams.permissions import ActionPermissions, require

from .. import conf, placeholders, selectors, services
from ..models import (
    EmailTemplate,
    SmsTemplate,
)
from ..sms import analyze
from .serializers import (
    AnalyzeIn,
    CallbackIn,
    EmailTemplateOut,
    EmailTranslationSerializer,
    MessageOut,
    PreviewIn,
    SendIn,
    SmsTemplateOut,
    SmsTranslationSerializer,
    TemplateIn,
    WorkflowRunOut,
    WorkflowSerializer,
)


class _TemplateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [ActionPermissions]
    pagination_class = None
    model = None
    kind = ""
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
            found = selectors.translation_get(template=template, locale=locale)
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
        return selectors.template_list(kind=self.kind)

    @extend_schema(request=TemplateIn, responses={201: None, **errors(400, 401, 403)})
    def create(self, request):
        data = TemplateIn(data=request.data)
        data.is_valid(raise_exception=True)
        template = services.template_create(kind=self.kind, by=request.user,
                                            **data.validated_data)
        return Response(self.get_serializer(template).data, status=201)

    @extend_schema(request=PreviewIn, responses={200: None, **errors(400, 401, 403, 404)})
    @action(detail=True, methods=["post"])
    def preview(self, request, pk=None):
        data = PreviewIn(data=request.data)
        data.is_valid(raise_exception=True)
        customer = None
        if data.validated_data.get("customer_id"):
            customer = selectors.customer_get(user=request.user, customer_id=data.validated_data["customer_id"])
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
        customer = selectors.customer_get(user=request.user, customer_id=data.validated_data["customer_id"])
        if customer is None:
            raise NotFound("No such customer.")
        message = services.message_queue(customer=customer, template=self.get_object(), by=request.user)
        return Response(MessageOut(message, context={"request": request}).data, status=202)


class EmailTemplateViewSet(_TemplateViewSet):
    serializer_class = EmailTemplateOut
    model = EmailTemplate
    kind = "email"
    translation_serializer = EmailTranslationSerializer
    translation_put = staticmethod(services.email_translation_put)
    action_permissions = {"list": "communications.view_templates", "retrieve": "communications.view_templates",
                          "preview": "communications.view_templates", "send": "communications.send_email",
                          "translation": "communications.view_templates", "*": "communications.manage_templates"}


class SmsTemplateViewSet(_TemplateViewSet):
    serializer_class = SmsTemplateOut
    model = SmsTemplate
    kind = "sms"
    translation_serializer = SmsTranslationSerializer
    translation_put = staticmethod(services.sms_translation_put)
    action_permissions = {"list": "communications.view_templates", "retrieve": "communications.view_templates",
                          "preview": "communications.view_templates", "send": "communications.send_sms",
                          "translation": "communications.view_templates", "*": "communications.manage_templates"}


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


class CustomerCommunicationsView(ScopedViewMixin, APIView):
    """A customer's communication log (visible customers only; recipients masked per role)."""

    permission_classes = [require("customers.view")]

    @extend_schema(responses={200: MessageOut(many=True), **errors(401, 403, 404)})
    def get(self, request, customer_id: int):
        messages = selectors.customer_messages(user=request.user, customer_id=customer_id)
        if messages is None:
            raise NotFound("Not found.")
        return Response(MessageOut(messages, many=True, context={"request": request}).data)


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


class WorkflowViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = WorkflowSerializer
    queryset = selectors.workflow_list()
    permission_classes = [ActionPermissions]
    action_permissions = {"*": "platform.manage_workflows"}
    pagination_class = None

    def create(self, request, *args, **kwargs):
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        workflow = services.workflow_create(data=data.validated_data, by=request.user)
        return Response(self.get_serializer(selectors.workflow_get(workflow_id=workflow.pk)).data, status=201)

    def update(self, request, *args, partial: bool = False, **kwargs):
        data = self.get_serializer(self.get_object(), data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        workflow = services.workflow_update(workflow=data.instance, data=data.validated_data, by=request.user)
        return Response(self.get_serializer(selectors.workflow_get(workflow_id=workflow.pk)).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    @extend_schema(responses={200: WorkflowRunOut(many=True), **errors(401, 403, 404)})
    @action(detail=True, methods=["get"])
    def runs(self, request, pk=None):
        runs = selectors.workflow_runs(workflow=self.get_object(), limit=100)
        return Response(WorkflowRunOut(runs, many=True, context={"request": request}).data)
