"""Workspace pages: upload a file, watch its progress bar, download the rejections."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.views.generic import TemplateView

from brokercrm.errors import DomainError
from brokercrm.lists import ListSpec, list_page
from brokercrm.workspace import WorkspaceMixin

from . import selectors, services


class ImportListView(WorkspaceMixin, TemplateView):
    template_name = "workspace/imports.html"
    required_permission = "customers.import"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        listing = list_page(self.request, selectors.job_list(user=self.request.user), ListSpec(
            sorts={"file": ("file_name",), "status": ("status",), "rows": ("total_rows",),
                   "imported": ("imported_rows",), "rejected": ("rejected_rows",), "uploaded": ("created_at",)},
            default_sort="uploaded", default_desc=True, default_size=25))
        ctx.update(listing)
        ctx["jobs"] = listing["rows"]
        return ctx

    def post(self, request):
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, "Choose a CSV file.")
            return redirect("import-list")
        try:
            rate = int(request.POST.get("rate_per_second") or 10)
            job = services.import_create(by=request.user, raw=upload.read(), file_name=upload.name,
                                         rate_per_second=rate)
        except ValueError:
            messages.error(request, "The pace must be a whole number.")
            return redirect("import-list")
        except DomainError as error:
            messages.error(request, error.detail)
            return redirect("import-list")
        return redirect("import-detail", job_id=job.pk)


class ImportDetailView(WorkspaceMixin, TemplateView):
    template_name = "workspace/import_detail.html"
    required_permission = "customers.import"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        job = selectors.job_get(user=self.request.user, job_id=kwargs["job_id"])
        if job is None:
            raise Http404
        ctx["job"] = job
        # Cancel only while it can still stop (the page hides it again when the polled status is final).
        ctx["cancellable"] = job.status in (job.Status.PENDING, job.Status.RUNNING)
        return ctx
