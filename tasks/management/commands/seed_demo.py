"""Create realistic demo tasks for one user, fast: `manage.py seed_demo --user ID --tasks N`."""

import random
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from drf_better_auth.tokens import TokenInvalid, check_subject

from tasks import writes
from tasks.models import Priority, Task

BATCH_SIZE = 1000
HISTORY_DAYS = 120

TITLES = [
    "Buy {grocery}",
    "Pick up {grocery} on the way home",
    "Call {person} about {topic}",
    "Reply to {person}'s email about {topic}",
    "Send {person} the {document}",
    "Book {appointment}",
    "Reschedule {appointment}",
    "Renew the {document}",
    "Pay the {bill} bill",
    "Fix the {thing}",
    "Clean the {room}",
    "Water the {plant}",
    "Return the {item} to the store",
    "Prepare slides for {meeting}",
    "Write notes from {meeting}",
    "Review {person}'s pull request",
    "Plan {event}",
    "Order a gift for {person}",
    "Read chapter {n} of {book}",
    "Back up the {thing}",
]
WORDS = {
    "grocery": ["milk", "eggs", "oat milk", "coffee beans", "bread", "apples", "rice", "olive oil", "dish soap"],
    "person": ["Mum", "Sam", "Priya", "the landlord", "Dr. Okafor", "Lena", "the plumber", "Marco", "Aiko"],
    "topic": ["the lease", "Saturday", "the invoice", "the trip", "the quote", "the new schedule", "the budget"],
    "document": ["passport", "insurance policy", "contract", "tax return", "car registration", "library card"],
    "appointment": ["the dentist", "a haircut", "the vet", "the car service", "a physio session"],
    "bill": ["electricity", "internet", "water", "phone", "gas"],
    "thing": ["bike brakes", "leaking tap", "laptop", "garden gate", "printer", "kitchen drawer"],
    "room": ["kitchen", "garage", "bathroom", "spare room", "balcony"],
    "plant": ["basil", "ficus", "tomatoes", "orchid", "lawn"],
    "item": ["blue jacket", "headphones", "extra chair", "running shoes"],
    "meeting": ["the Monday stand-up", "the quarterly review", "the client demo", "the team retro"],
    "event": ["Sam's birthday", "the summer trip", "the team lunch", "a weekend hike", "the housewarming"],
    "book": ["Dune", "The Pragmatic Programmer", "Middlemarch", "Sapiens"],
    "n": [str(n) for n in range(1, 13)],
}
DESCRIPTIONS = [
    "Before Friday.",
    "Ask about weekend opening hours.",
    "Check the receipt first; it is in the drawer by the door.",
    "Not urgent, but do not forget.",
    "Call before 5 pm.",
    "Compare at least two offers.",
    "- check the price\n- ask for a discount\n- pay by card",
    "Remember the reference number from the last email.",
    "Talk it through with {person} first.",
    "Second reminder: this was due last week.",
]


# Each template's likely tags; a few tasks get one more from EXTRA_TAGS.
TAGS_BY_WORD = {
    "Buy": ["errands", "shopping"],
    "Pick": ["errands"],
    "Call": ["calls"],
    "Reply": ["email"],
    "Send": ["email"],
    "Book": ["appointments"],
    "Reschedule": ["appointments"],
    "Renew": ["admin"],
    "Pay": ["finance", "bills"],
    "Fix": ["home", "repairs"],
    "Clean": ["home"],
    "Water": ["home", "garden"],
    "Return": ["errands"],
    "Prepare": ["work"],
    "Write": ["work"],
    "Review": ["work", "code"],
    "Plan": ["family", "fun"],
    "Order": ["family", "shopping"],
    "Read": ["reading"],
    "Back": ["tech"],
}
EXTRA_TAGS = ["urgent", "weekend", "someday", "Q4", "waiting"]
# How often each priority is picked: most tasks have none, few are high.
PRIORITY_WEIGHTS = {Priority.NONE: 45, Priority.LOW: 20, Priority.MEDIUM: 20, Priority.HIGH: 15}


class Command(BaseCommand):
    help = "Create N realistic tasks for USER (the Better Auth user id), spread over the last months."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="the Better Auth user id (a token's sub)")
        parser.add_argument("--tasks", type=int, default=50, help="how many tasks (default 50)")

    def handle(self, *args, user, tasks, **options):
        try:
            check_subject(user)
        except TokenInvalid as exc:
            raise CommandError(f"Invalid user id: {exc}.") from exc
        if tasks < 1:
            raise CommandError("--tasks must be at least 1.")
        self.stderr.style_func = None  # a progress bar, not an error
        rng = random.Random()  # noqa: S311 (demo data, not secrets)
        now = timezone.now()
        with transaction.atomic(), keep_given_timestamps():
            for start in range(0, tasks, BATCH_SIZE):
                count = min(BATCH_SIZE, tasks - start)
                writes.insert_history(demo_task(rng, user, now) for _ in range(count))
                self.progress(start + count, tasks)
        self.stdout.write(f"Created {tasks} tasks for {user}.")

    def progress(self, done: int, total: int) -> None:
        filled = 30 * done // total
        self.stderr.write(
            f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{total}", ending="\n" if done == total else ""
        )
        self.stderr.flush()


def demo_task(rng: random.Random, user: str, now: datetime) -> Task:
    # Recent days hold more tasks than old ones, and old tasks are more often done.
    age = HISTORY_DAYS * rng.random() ** 2
    created_at = now - timedelta(days=age, seconds=rng.randrange(86400))
    completed = rng.random() < 0.15 + 0.7 * age / HISTORY_DAYS
    updated_at = created_at + (now - created_at) * (rng.random() if completed else rng.random() * 0.1)
    description = fill(rng, rng.choice(DESCRIPTIONS)) if rng.random() < 0.55 else None
    template = rng.choice(TITLES)
    tags = demo_tags(rng, template)
    return Task(
        user_id=user,
        title=fill(rng, template)[:100],
        description=description,
        completed=completed,
        completed_at=updated_at if completed else None,
        due_at=demo_due_at(rng, created_at),
        priority=rng.choices(list(PRIORITY_WEIGHTS), weights=list(PRIORITY_WEIGHTS.values()))[0],
        tags=tags,
        created_at=created_at,
        updated_at=updated_at,
    )


def demo_due_at(rng: random.Random, created_at: datetime) -> datetime | None:
    """Six tasks in ten have a due date: a few days to a few weeks after creation, at a round time of day; so some
    open ones are overdue, as in a real list."""
    if rng.random() < 0.4:
        return None
    day = created_at + timedelta(days=rng.choice([0, 1, 1, 2, 3, 7, 7, 14, 30]))
    due = day.replace(hour=rng.choice([9, 12, 17, 18, 20]), minute=rng.choice([0, 0, 30]), second=0, microsecond=0)
    return due if due > created_at else due + timedelta(days=1)


def demo_tags(rng: random.Random, template: str) -> list[str]:
    likely = TAGS_BY_WORD[template.split()[0]]
    tags = rng.sample(likely, k=min(len(likely), rng.choice([0, 1, 1, 2])))
    if rng.random() < 0.15:
        tags.append(rng.choice(EXTRA_TAGS))
    return list(dict.fromkeys(tags))


def fill(rng: random.Random, template: str) -> str:
    return template.format(**{slot: rng.choice(words) for slot, words in WORDS.items()})


@contextmanager
def keep_given_timestamps():
    """bulk_create() would overwrite created_at/updated_at with now (auto_now_add/auto_now): switch that off
    while the demo rows, which carry their own spread of dates, are inserted. Safe in a command's own process."""
    fields = [Task._meta.get_field("created_at"), Task._meta.get_field("updated_at")]
    saved = [(field.auto_now, field.auto_now_add) for field in fields]
    for field in fields:
        field.auto_now = field.auto_now_add = False
    try:
        yield
    finally:
        for field, (auto_now, auto_now_add) in zip(fields, saved, strict=True):
            field.auto_now, field.auto_now_add = auto_now, auto_now_add
