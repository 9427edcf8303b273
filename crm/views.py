"""The agent workspace: server-rendered pages in the admin style. Every query starts from visible_to(user)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import Http404
from django.views.generic import DetailView, ListView, TemplateView

from brokercrm.workspace import WorkspaceMixin
from customers import selectors as customer_selectors
from customers.models import Customer
from customers.presence import presence_online


class StaffLoginView(auth_views.LoginView):
    template_name = "workspace/login.html"
    redirect_authenticated_user = True


class DashboardView(WorkspaceMixin, TemplateView):
    template_name = "workspace/dashboard.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["customer_count"] = Customer.objects.visible_to(self.request.user).count()
        return ctx


class CustomerListView(WorkspaceMixin, ListView):
    template_name = "workspace/customer_list.html"
    required_permission = "customers.view"
    paginate_by = 50
    context_object_name = "customers"

    def get_queryset(self):
        return customer_selectors.customer_list(user=self.request.user, filters=self.request.GET,
                                                request=self.request)

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["online"] = presence_online(c.pk for c in ctx["customers"])
        ctx["filters"] = self.request.GET
        return ctx


class CustomerDetailView(WorkspaceMixin, DetailView):
    template_name = "workspace/customer_detail.html"
    required_permission = "customers.view"
    context_object_name = "customer"

    def get_object(self, queryset=None):
        try:
            return customer_selectors.customer_get(user=self.request.user, customer_id=self.kwargs["pk"])
        except Customer.DoesNotExist:
            raise Http404("No such customer.") from None

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["online"] = self.object.pk in presence_online([self.object.pk])
        ctx["activities"] = self.object.activities.select_related("actor")[:50]
        return ctx
