"""Input and output serializers of the lead-import API."""

from __future__ import annotations

from rest_framework import serializers

from ..models import ImportJob


class ImportIn(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True)
    rate_per_second = serializers.IntegerField(required=False, min_value=0, max_value=10_000)


class StatusOut(serializers.ModelSerializer):
    job_id = serializers.UUIDField(source="id")
    waiting_in_queue = serializers.BooleanField(read_only=True, help_text="Queued, not yet started by a worker.")
    status_text = serializers.CharField(read_only=True, help_text='"waiting in the queue", "running", "completed"…')

    class Meta:
        model = ImportJob
        fields = ["job_id", "status", "total_rows", "processed_rows", "imported_rows", "rejected_rows",
                  "rate_per_second", "waiting_in_queue", "status_text", "file_name", "messages", "created_at",
                  "started_at", "finished_at"]
