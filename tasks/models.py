"""The task: one row per to-do item of a Better Auth user."""

import uuid

from django.db import models
from django.db.models.functions import Length

# Lets the constraints below say title__length (https://docs.djangoproject.com/en/5.2/ref/models/lookups/).
models.CharField.register_lookup(Length)


class Task(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The Better Auth user id (the JWT's sub); users live in Better Auth, not here.
    user_id = models.CharField(max_length=255)
    title = models.CharField(max_length=100)
    # null and "" differ in the contract: null is "no description".
    description = models.CharField(max_length=1000, null=True, blank=True)  # noqa: DJ001
    completed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["user_id", "-created_at"], name="task_user_created_idx"),
            models.Index(fields=["user_id", "completed", "-created_at"], name="task_user_completed_idx"),
        ]
        constraints = [
            # The database keeps the invariants too, so the admin and shell cannot break them.
            models.CheckConstraint(
                condition=models.Q(title__length__gte=1, title__length__lte=100), name="task_title_length"
            ),
            models.CheckConstraint(
                condition=models.Q(description__isnull=True) | models.Q(description__length__lte=1000),
                name="task_description_length",
            ),
        ]

    def __str__(self) -> str:
        return self.title
