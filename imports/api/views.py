from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from brokercrm.api.parsers import FormParser, MultiPartParser
from brokercrm.api.schema import errors
from brokercrm.errors import NotFound, TooLarge
from teams.permissions import require

from .. import conf, selectors, services
from ..models import ImportJob
from .serializers import ImportIn, StatusOut


def _job(request, job_id) -> ImportJob:
    job = selectors.job_get(user=request.user, job_id=job_id)
    if job is None:
        raise NotFound("No such import job.")
    return job


class ImportView(APIView):
    """Upload a CSV of leads (multipart `file`, optional `rate_per_second`, 0 = unpaced)."""

    permission_classes = [require("customers.import")]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request=ImportIn, responses={202: None, **errors(400, 401, 403, 413)})
    def post(self, request):
        upload = request.FILES.get("file")
        if upload is not None and upload.size > conf.IMPORT_MAX_BYTES:
            raise TooLarge(f"The file exceeds the {conf.IMPORT_MAX_BYTES:,}-byte limit.")
        data = ImportIn(data=request.data)
        data.is_valid(raise_exception=True)
        job = services.import_create(by=request.user, raw=data.validated_data["file"].read(),
                                     file_name=data.validated_data["file"].name,
                                     rate_per_second=data.validated_data.get("rate_per_second"))
        return Response({"job_id": str(job.pk), "status": job.status, "total_rows": job.total_rows,
                         "message": f"Import job created. Processing {job.total_rows} rows.",
                         "messages": job.messages}, status=202)


class ImportStatusView(APIView):
    permission_classes = [require("customers.import")]

    @extend_schema(responses={200: StatusOut, **errors(401, 403, 404)})
    def get(self, request, job_id):
        return Response(StatusOut(_job(request, job_id)).data)


class ImportCancelView(APIView):
    permission_classes = [require("customers.import")]

    @extend_schema(request=None, responses={200: StatusOut, **errors(401, 403, 404)})
    def post(self, request, job_id):
        return Response(StatusOut(services.import_cancel(job=_job(request, job_id), by=request.user)).data)


class ImportRejectionsView(APIView):
    permission_classes = [require("customers.import")]

    @extend_schema(responses={(200, "text/csv"): str, **errors(401, 403, 404)})
    def get(self, request, job_id):
        job = _job(request, job_id)
        response = StreamingHttpResponse(selectors.rejections_csv(job), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="rejections-{job.pk}.csv"'
        return response
