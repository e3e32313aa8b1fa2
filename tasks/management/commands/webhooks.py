"""The webhook worker and its operator commands: `webhooks run`, `webhooks pending`, `webhooks retry --failed`."""

import logging
import signal
import threading
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tasks import delivery

logger = logging.getLogger("tasks.delivery")


class Command(BaseCommand):
    help = (
        "run: deliver the webhook outbox to WEBHOOK_URL until SIGTERM (the Procfile's worker). pending: what waits, "
        "by type. retry --failed: send the messages whose retries ran out again, with the same webhook-id."
    )

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        run = actions.add_parser("run", help="Deliver until SIGTERM or SIGINT (the POSTs in flight finish first).")
        run.add_argument(
            "--concurrency",
            type=int,
            default=delivery.CONCURRENCY,
            help="POSTs in flight at once (default: %(default)s).",
        )
        actions.add_parser("pending", help="Pending (due, leased, later) and failed messages per type, and the oldest.")
        retry = actions.add_parser(
            "retry", help="Make failed messages pending again (attempts reset, same webhook-id)."
        )
        retry.add_argument("--failed", action="store_true", required=True)

    def handle(self, *args, action, **options):
        getattr(self, action)(**options)

    def run(self, *, concurrency, **options):
        if concurrency < 1:
            raise CommandError("--concurrency must be 1 or more.")
        stop = threading.Event()
        if not settings.WEBHOOK_URL:
            # Idle rather than exit: a platform restarts a worker that exits, over and over. The write path records
            # nothing while WEBHOOK_URL is unset, so nothing piles up meanwhile.
            logger.warning("webhook worker: WEBHOOK_URL is unset, nothing to deliver; idling until stopped")
            self.on_stop(stop.set)
            stop.wait()
            return
        worker = delivery.Worker(settings.WEBHOOK_URL, settings.WEBHOOK_SECRET, concurrency=concurrency)
        self.on_stop(worker.stop)
        url = urlsplit(settings.WEBHOOK_URL)
        # Scheme and host only: a URL's path or query may hold a token.
        logger.info("webhook worker: delivering to %s://%s with %s connections", url.scheme, url.netloc, concurrency)
        worker.run()
        logger.info("webhook worker: stopped")

    @staticmethod
    def on_stop(stop) -> None:
        """SIGTERM (a platform's restart) and SIGINT (Ctrl-C) stop the loop gracefully."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop())

    def pending(self, **options):
        counts = delivery.pending_by_type()
        if not counts:
            self.stdout.write("No pending or failed webhook messages.")
        for kind, row in sorted(counts.items()):
            oldest = row["oldest"].isoformat() if row["oldest"] else "-"
            self.stdout.write(
                f"{kind}: {row['pending']} pending ({row['due']} due, {row['leased']} being sent, "
                f"{row['pending'] - row['due'] - row['leased']} later), oldest {oldest}; {row['failed']} failed"
            )

    def retry(self, **options):
        self.stdout.write(f"{delivery.retry_failed()} failed messages pending again.")
