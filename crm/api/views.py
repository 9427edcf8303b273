from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from brokercrm.api.schema import errors, page_of
from brokercrm.errors import DomainError, MethodNotAllowed, NotFound
from brokercrm.inputs import parse_id
from customers import selectors as customer_selectors
from customers import services as customer_services
from customers.api.serializers import CustomerOut, CustomerPatch
from customers.presence import presence_online
from customers.scoping import ScopedViewMixin
from teams import pii
from teams.api.fields import RedactedJSON, RedactedText
from teams.permissions import ActionPermissions


class CustomerViewSet(ScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Customers in the caller's view scope, PII per role. Out of scope is 404, like unknown."""

    serializer_class = CustomerOut
    permission_classes = [ActionPermissions]
    action_permissions = {"*": "customers.view", "partial_update": "customers.edit",
                          "export": "reports.export_customers"}
    filterset_class = None

    def get_queryset(self):
        return customer_selectors.customer_list(
            user=self.request.user, filters=self.request.query_params, request=self.request
        )

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "online": getattr(self, "_online", None)}

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        self._online = presence_online(c.pk for c in page)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(request=CustomerPatch, responses={200: CustomerOut, **errors(400, 401, 403, 404)})
    def partial_update(self, request, pk=None):
        data = CustomerPatch(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        customer = customer_services.customer_update(customer=self.get_object(), by=request.user,
                                                     **data.validated_data)
        return Response(self.get_serializer(customer).data)

    @extend_schema(responses={(200, "text/csv"): str, **errors(401, 403)},
                   parameters=[OpenApiParameter("search", str)])
    @action(detail=False, methods=["get"])
    def export(self, request):
        """CSV of the visible customers (filters apply). Needs can_export_pii: the file carries PII."""
        if not export_allowed(request.user):
            raise crm_services.ExportNotAllowed("Exporting customers needs the can_export_pii right.")
        return customer_export_response(self.get_queryset(), request.user)


# --- pipelines, assignment, activity, notes, tasks -------------------------------------------------------------------

from rest_framework import serializers  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

from brokercrm.api.pagination import KeysetPagination  # noqa: E402
from customers.models import Activity, Customer  # noqa: E402
from customers.pipelines import PIPELINES  # noqa: E402
from teams.models import subtree_q  # noqa: E402
from teams.permissions import require  # noqa: E402
from teams.selectors import teams_visible_to  # noqa: E402

from .. import services as crm_services  # noqa: E402
from ..exports import customer_export_response, export_allowed  # noqa: E402
from ..models import Note, Task  # noqa: E402


class TransitionIn(serializers.Serializer):
    pipeline = serializers.ChoiceField(choices=list(PIPELINES))
    to = serializers.CharField(max_length=20)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class BulkAssignIn(serializers.Serializer):
    customer_ids = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=5000)
    agent_ids = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=500)


class ActivityOut(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()
    summary = RedactedText()
    data = RedactedJSON()

    class Meta:
        model = Activity
        fields = ["id", "customer", "verb", "summary", "data", "actor", "created_at"]

    def get_actor(self, obj) -> str | None:
        return (obj.actor.get_full_name() or obj.actor.email) if obj.actor_id else None


class NoteIn(serializers.Serializer):
    body = serializers.CharField(max_length=10000)


class NoteOut(serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="email", read_only=True)
    body = RedactedText()

    class Meta:
        model = Note
        fields = ["id", "customer", "body", "author", "created_at", "updated_at"]


def keyset_response(request, queryset):
    rows, next_url = KeysetPagination().paginate(queryset, request)
    return Response({"results": ActivityOut(rows, many=True, context={"request": request}).data, "next": next_url})


def _customer_actions():
    @extend_schema(request=TransitionIn, responses={200: CustomerOut, **errors(400, 401, 403, 404, 409)})
    @action(detail=True, methods=["post"])
    def transitions(self, request, pk=None):
        data = TransitionIn(data=request.data)
        data.is_valid(raise_exception=True)
        customer = customer_services.customer_transition(customer=self.get_object(), by=request.user,
                                                         **data.validated_data)
        return Response(CustomerOut(customer_selectors.customer_get(user=request.user, customer_id=customer.pk),
                                    context={"request": request}).data)

    @extend_schema(request=BulkAssignIn, responses={200: None, **errors(400, 401, 403, 404)})
    @action(detail=False, methods=["post"], url_path="bulk-assign")
    def bulk_assign(self, request):
        data = BulkAssignIn(data=request.data)
        data.is_valid(raise_exception=True)
        counts = crm_services.customers_bulk_assign(by=request.user, **data.validated_data)
        return Response({"assigned": {str(k): v for k, v in counts.items()}})

    @extend_schema(responses={200: page_of(ActivityOut, "ActivityPage"), **errors(400, 401, 403, 404)})
    @action(detail=True, methods=["get"])
    def activity(self, request, pk=None):
        customer = self.get_object()
        return keyset_response(request, self.scoped(Activity).filter(customer=customer).select_related("actor",
                                                                                                       "customer"))

    @extend_schema(methods=["POST"], request=NoteIn, responses={201: NoteOut, **errors(400, 401, 403, 404)})
    @extend_schema(methods=["GET"], responses={200: NoteOut(many=True), **errors(401, 403, 404)})
    @action(detail=True, methods=["post", "get"], pagination_class=None)  # GET: the whole list, not a page
    def notes(self, request, pk=None):
        customer = self.get_object()
        if request.method == "GET":
            return Response(NoteOut(customer.notes.select_related("author"), many=True,
                                    context={"request": request}).data)
        data = NoteIn(data=request.data)
        data.is_valid(raise_exception=True)
        note = crm_services.note_add(customer=customer, body=data.validated_data["body"], by=request.user)
        return Response(NoteOut(note, context={"request": request}).data, status=201)

    return {"transitions": transitions, "bulk_assign": bulk_assign, "activity": activity, "notes": notes}


for _name, _fn in _customer_actions().items():
    setattr(CustomerViewSet, _name, _fn)
CustomerViewSet.action_permissions.update({"transitions": "customers.view", "bulk_assign": "customers.bulk_assign",
                                           "activity": "customers.view", "notes": "customers.view"})


class ActivityFeedView(ScopedViewMixin, APIView):
    """The activity of every customer in the caller's scope; `?agent=<id>` for one agent's customers,
    `?team=<id>` for a team subtree (within the caller's scope: another team is 404, like an unknown one).
    Keyset-paginated on (time, id), newest first."""

    permission_classes = [require("customers.view")]

    @extend_schema(responses={200: page_of(ActivityOut, "ActivityPage"), **errors(400, 401, 403, 404)})
    def get(self, request):
        qs = self.scoped(Activity.objects.select_related("actor", "customer"))
        agent = request.query_params.get("agent")
        team = request.query_params.get("team")
        if agent:
            if parse_id(agent) is None:
                raise DomainError("agent must be an id.", fields={"agent": ["An integer."]})
            qs = qs.filter(customer__assigned_to_id=parse_id(agent))
        if team:
            if parse_id(team) is None:
                raise DomainError("team must be an id.", fields={"team": ["An integer."]})
            found = teams_visible_to(user=request.user).filter(pk=parse_id(team)).first()
            if found is None:  # unknown or outside the caller's teams: the same answer (API.md: 404)
                raise NotFound("No such team.")
            qs = qs.filter(subtree_q(found.path, via="customer__team"))
        return keyset_response(request, qs)


class NoteViewSet(ScopedViewMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Notes are edited (keeping history) but never deleted: DELETE is 405."""

    serializer_class = NoteOut
    permission_classes = [ActionPermissions]
    action_permissions = {"*": "customers.view"}
    http_method_names = ["get", "patch", "delete", "head", "options"]
    queryset = Note.objects.select_related("author", "customer")

    @extend_schema(request=NoteIn, responses={200: NoteOut, **errors(400, 401, 403, 404)})
    def partial_update(self, request, pk=None):
        data = NoteIn(data=request.data)
        data.is_valid(raise_exception=True)
        note = crm_services.note_edit(note=self.get_object(), body=data.validated_data["body"], by=request.user)
        return Response(NoteOut(note, context={"request": request}).data)

    @extend_schema(responses=errors(401, 403, 404, 405), description="Always 405: notes are never deleted.")
    def destroy(self, request, pk=None):
        raise MethodNotAllowed("Notes are never deleted: they are a compliance trail.")

    @extend_schema(responses={200: None, **errors(401, 404)})
    @action(detail=True, methods=["get"])
    def history(self, request, pk=None):
        note = self.get_object()
        viewer, customer = request.user, note.customer
        revisions = [{"body": pii.redact_for(r.body, viewer, customer),
                      "author": r.author.email if r.author_id else None,
                      "written_at": r.written_at, "replaced_at": r.replaced_at,
                      "replaced_by": r.replaced_by.email if r.replaced_by_id else None}
                     for r in note.revisions.select_related("author", "replaced_by")]
        current = {"body": pii.redact_for(note.body, viewer, customer),
                   "author": note.author.email if note.author_id else None,
                   "written_at": note.updated_at, "replaced_at": None, "replaced_by": None}
        return Response({"note": note.pk, "revisions": [*revisions, current]})


class TaskIn(serializers.Serializer):
    customer_id = serializers.IntegerField()
    title = serializers.CharField(max_length=200)
    due_at = serializers.DateTimeField()
    assignee_id = serializers.IntegerField(required=False, allow_null=True)


class TaskOut(serializers.ModelSerializer):
    overdue = serializers.SerializerMethodField()
    title = RedactedText()

    class Meta:
        model = Task
        fields = ["id", "customer", "title", "assignee", "team", "due_at", "status", "overdue", "created_at",
                  "completed_at"]

    def get_overdue(self, obj) -> bool:
        from django.utils import timezone

        return obj.status == Task.Status.OPEN and obj.due_at < timezone.now()


class TaskViewSet(ScopedViewMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = TaskOut
    permission_classes = [ActionPermissions]
    action_permissions = {"*": "pipelines.manage_tasks"}

    def get_queryset(self):
        from ..selectors import task_list

        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Task.objects.none()
        params = self.request.query_params
        return task_list(user=self.request.user, scope=params.get("scope", "own"),
                         overdue=params.get("overdue") == "true", status=params.get("status"))

    @extend_schema(parameters=[
        OpenApiParameter("scope", str, enum=["own", "team", "queue", "all"],
                         description="own (default) · team · queue (unassigned tasks of the team queue) · all "
                                     "(roles that see every customer; others 403)"),
        OpenApiParameter("overdue", bool), OpenApiParameter("status", str, enum=["open", "done"])],
        responses={200: TaskOut(many=True), **errors(400, 401, 403)})
    def list(self, request, *args, **kwargs):
        rows = list(self.get_queryset()[:500])
        return Response({"results": TaskOut(rows, many=True, context={"request": request}).data, "next": None})

    @extend_schema(request=TaskIn, responses={201: TaskOut, **errors(400, 401, 403, 404)})
    def create(self, request):
        from teams.selectors import users_assignable_by

        data = TaskIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        customer = self.scoped(Customer).filter(pk=values["customer_id"]).first()
        if customer is None:
            raise NotFound("No such customer.")
        assignee = request.user
        if values.get("assignee_id"):
            assignee = users_assignable_by(user=request.user).filter(pk=values["assignee_id"]).first()
            if assignee is None:
                raise DomainError("Invalid input.", fields={"assignee_id": ["Not assignable."]})
        task = crm_services.task_create(customer=customer, title=values["title"], due_at=values["due_at"],
                                        assignee=assignee, by=request.user)
        return Response(TaskOut(task, context={"request": request}).data, status=201)

    @extend_schema(request=None, responses={200: TaskOut, **errors(401, 403, 404)})
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        task = self.scoped(Task).filter(pk=pk).first()
        if task is None:
            raise NotFound("No such task.")
        return Response(TaskOut(crm_services.task_complete(task=task, by=request.user),
                                context={"request": request}).data)
