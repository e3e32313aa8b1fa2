"""manage.py seed_demo: realistic demo tasks, created in batches, with a progress bar."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tasks.models import Task

pytestmark = pytest.mark.django_db


def seed(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_creates_the_tasks_for_that_user_only(make_task):
    make_task(user_id="bob", title="Bob's own")
    out, err = seed("--user", "alice", "--tasks", "2500")
    assert Task.objects.filter(user_id="alice").count() == 2500
    assert list(Task.objects.filter(user_id="bob").values_list("title", flat=True)) == ["Bob's own"]
    assert "Created 2500 tasks for alice" in out
    # One progress line, redrawn once per batch of 1000, ending with the total.
    assert err.count("\r") == 3
    assert err.endswith("] 2500/2500\n")


def test_tasks_are_varied_like_real_ones():
    seed("--user", "alice", "--tasks", "1000")
    tasks = Task.objects.filter(user_id="alice")
    assert tasks.values("title").distinct().count() > 200
    assert 200 < tasks.filter(completed=True).count() < 800
    assert 200 < tasks.filter(description__isnull=True).count() < 800
    now = timezone.now()
    oldest = tasks.order_by("created_at").first().created_at
    newest = tasks.order_by("-created_at").first().created_at
    assert now - oldest > timedelta(days=60)
    assert now - newest < timedelta(days=3)
    for task in tasks:
        assert task.created_at <= task.updated_at <= now
        assert 1 <= len(task.title.strip()) <= 100
        assert (task.completed_at is not None) is task.completed
        assert task.due_at is None or task.due_at > task.created_at
        assert task.tag_keys == [tag.casefold() for tag in task.tags]


def test_due_dates_priorities_and_tags_look_like_a_real_list(alice):
    seed("--user", "alice", "--tasks", "1000")
    tasks = Task.objects.filter(user_id="alice")
    assert 450 < tasks.filter(due_at__isnull=False).count() < 750
    assert {priority: tasks.filter(priority=priority).count() > 50 for priority in range(4)} == dict.fromkeys(
        range(4), True
    )
    assert alice.get("/api/tasks?overdue=true").json()["count"] > 10
    tags = alice.get("/api/tags").json()["results"]
    assert len(tags) > 10
    assert tags[0]["count"] > 50


def test_seeded_tasks_are_served_by_the_api_newest_first(alice):
    seed("--user", "alice", "--tasks", "120")
    response = alice.get("/api/tasks", {"page_size": 200})
    assert response.json()["count"] == 120
    created = [task["created_at"] for task in response.json()["results"]]
    assert created == sorted(created, reverse=True)


@pytest.mark.parametrize(
    ("args", "message"), [(["--user", " "], "Invalid user id"), (["--user", "alice", "--tasks", "0"], "at least 1")]
)
def test_bad_arguments_are_refused(args, message):
    with pytest.raises(CommandError, match=message):
        seed(*args)
    assert not Task.objects.exists()


def test_model_timestamps_are_automatic_again_afterwards():
    seed("--user", "alice", "--tasks", "1")
    before = timezone.now()
    task = Task.objects.create(user_id="alice", title="Later", created_at=before - timedelta(days=9))
    assert task.created_at >= before
