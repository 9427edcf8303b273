from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from brokercrm.api.schema import errors, page_of
from brokercrm.errors import DomainError, MethodNotAllowed, NotFound
from brokercrm.inputs import parse_id
from customers.api.serializers import ActivityOut
from customers.api.views import CustomerViewSet, activity_page_response
from customers.models import Activity, Customer
from customers.scoping import ScopedViewMixin
from teams.models import subtree_q
from teams.permissions import ActionPermissions, require
from teams.selectors import teams_visible_to, users_assignable_by

from .. import services as crm_services
from ..models import Note, Task
from ..selectors import note_history, task_list
from .serializers import BulkAssignIn, NoteIn, NoteOut, TaskIn, TaskOut


class CrmCustomerViewSet(CustomerViewSet):
    """/api/crm/customers: customers' viewset (list, detail, edit, export, transitions, activity) plus what crm
    owns: notes and bulk assignment."""

    action_permissions = {**CustomerViewSet.action_permissions, "bulk_assign": "customers.bulk_assign",
                          "notes": "customers.view"}

    @extend_schema(request=BulkAssignIn, responses={200: None, **errors(400, 401, 403, 404)})
    @action(detail=False, methods=["post"], url_path="bulk-assign")
    def bulk_assign(self, request):
        data = BulkAssignIn(data=request.data)
        data.is_valid(raise_exception=True)
        counts = crm_services.customers_bulk_assign(by=request.user, **data.validated_data)
        return Response({"assigned": {str(k): v for k, v in counts.items()}})

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
        return activity_page_response(request, qs)


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
        return Response({"note": note.pk, "revisions": note_history(note=note, viewer=request.user)})


class TaskViewSet(ScopedViewMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = TaskOut
    permission_classes = [ActionPermissions]
    action_permissions = {"*": "pipelines.manage_tasks"}

    def get_queryset(self):
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
