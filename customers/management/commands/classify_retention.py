from django.core.management.base import BaseCommand

from customers.retention import retention_classify


class Command(BaseCommand):
    help = "Recompute retention classes (active → churning → dormant) for every customer."

    def handle(self, *args, **options):
        result = retention_classify()
        changed = ", ".join(f"{k}: {v}" for k, v in sorted(result.changed.items())) or "no changes"
        self.stdout.write(f"retention classified in {result.seconds:.2f}s ({changed})")
