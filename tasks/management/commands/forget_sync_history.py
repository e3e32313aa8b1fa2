"""Delete what the sync features keep past its retention: idempotent responses (24 h), tombstones, erasures (31 d)."""

from django.core.management.base import BaseCommand

from tasks import changes, idempotency


class Command(BaseCommand):
    help = (
        "Delete kept Idempotency-Key responses older than 24 hours, and tombstones and erasure records older than 31 "
        "days. Run daily."
    )

    def handle(self, *args, **options):
        removed = {**idempotency.forget_old(), **changes.forget_old()}
        self.stdout.write(", ".join(f"{name}: {count} removed" for name, count in removed.items()))
