"""Input and output serializers of the agent workspace API (notes, tasks, bulk assignment)."""

from __future__ import annotations

from django.utils import timezone
from rest_framework import serializers

from teams.api.fields import RedactedText

from ..models import Note, Task


class BulkAssignIn(serializers.Serializer):
    customer_ids = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=5000)
    agent_ids = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=500)


class NoteIn(serializers.Serializer):
    body = serializers.CharField(max_length=10000)


class NoteOut(serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="email", read_only=True)
    body = RedactedText()

    class Meta:
        model = Note
        fields = ["id", "customer", "body", "author", "created_at", "updated_at"]


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
        return obj.status == Task.Status.OPEN and obj.due_at < timezone.now()
