"""Demo notes (one with an edit history) and open tasks for the demo agents' first customers. Idempotent.

Tasks are due in the future so that a fresh demo has no overdue work; the beat task flags them once they pass."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from customers.models import Customer

from .models import Note, Task
from .services import note_add, note_edit, task_create

NOTES = ["Prefers a call after 17:00 local time.", "Asked about leverage on indices; sent the product sheet.",
         "Interested in the EUR account; follow up after KYC."]
TASKS = ["Welcome call", "Chase KYC documents", "Follow up on first deposit"]


def seed(ctx: dict, log=print) -> None:
    users = ctx["users"]
    created = 0
    for persona in ("agent", "agent_uk2", "agent_eu"):
        agent = users.get(persona)
        if agent is None:
            continue
        for i, customer in enumerate(Customer.objects.filter(assigned_to=agent).order_by("pk")[:3]):
            if Note.objects.filter(customer=customer).exists():
                continue
            note = note_add(customer=customer, body=NOTES[i % len(NOTES)], by=agent)
            if i == 0:
                note_edit(note=note, body=note.body + " Confirmed by email.", by=agent)
            if not Task.objects.filter(customer=customer).exists():
                task_create(customer=customer, title=TASKS[i % len(TASKS)], assignee=agent, by=agent,
                            due_at=timezone.now() + timedelta(days=1 + i, hours=2))
            created += 1
    log(f"notes and tasks on {created} customers")
