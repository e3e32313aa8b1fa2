"""The admin: tasks to inspect (due dates, priorities, tags), the per-user counts read-only, and the erasure of a
user's data on request."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Q
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from . import writes
from .account import count_user_rows, erase_user
from .models import Task, TaskCount
from .tags import tag_counts, tag_key, with_tag

# The tag filter offers the most used tags of this many of the newest tasks: counting every tag of a big table on
# each page load would be a scan of the whole table.
TAG_SAMPLE = 2000


class OverdueFilter(admin.SimpleListFilter):
    """As `overdue=` in the API: open and due before now, or every other task."""

    title = "overdue"
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("true", "Overdue"), ("false", "Not overdue")]

    def queryset(self, request, queryset):
        overdue = Q(completed=False, due_at__lt=timezone.now())
        if self.value() == "true":
            return queryset.filter(overdue)
        if self.value() == "false":
            return queryset.exclude(overdue)
        return queryset


class TagFilter(admin.SimpleListFilter):
    """As `tag=` in the API (case-insensitive), offering the tags most used on recent tasks."""

    title = "tag"
    parameter_name = "tag"

    def lookups(self, request, model_admin):
        recent = Task.objects.order_by("-created_at").values_list("pk", flat=True)[:TAG_SAMPLE]
        return [(tag["name"], tag["name"]) for tag in tag_counts(Task.objects.filter(pk__in=list(recent)))[:20]]

    def queryset(self, request, queryset):
        return with_tag(queryset, key=tag_key(self.value())) if self.value() else queryset


class RecurringFilter(admin.SimpleListFilter):
    """As `recurring=` in the API."""

    title = "recurring"
    parameter_name = "recurring"

    def lookups(self, request, model_admin):
        return [("true", "Recurring"), ("false", "One-off")]

    def queryset(self, request, queryset):
        if self.value() in {"true", "false"}:
            return queryset.filter(recurrence__isnull=self.value() == "false")
        return queryset


class TaskForm(forms.ModelForm):
    """The model's rules, and as the API checks them, a recurrence and reminders only with a due date. An empty
    box is no recurrence (null, as the API writes it, not ""), no reminders and no tags (`[]`, not null)."""

    def clean_recurrence(self):
        return self.cleaned_data["recurrence"] or None

    def clean_reminders(self):
        return self.cleaned_data["reminders"] or []

    def clean_tags(self):
        return self.cleaned_data["tags"] or []

    def clean(self):
        cleaned = super().clean()
        state = writes.changed_copy(self.instance, {name: cleaned.get(name) for name in self.changed_data})
        for field, errors in writes.schedule_errors(state, changed=self.changed_data or writes.SCHEDULE).items():
            self.add_error(field if field in self.fields else None, errors)
        return cleaned


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    form = TaskForm
    list_display = [
        "title",
        "user_id",
        "completed",
        "due_at",
        "priority",
        "tags",
        "recurrence",
        "occurrence",
        "created_at",
        "updated_at",
    ]
    list_filter = ["completed", "priority", OverdueFilter, TagFilter, RecurringFilter, "created_at"]
    search_fields = ["title", "user_id"]
    readonly_fields = ["id", "completed_at", "version", "occurrence", "series", "created_at", "updated_at"]

    @admin.display(description="next occurrence")
    def series(self, task: Task) -> str:
        """The occurrence this one's completion created, as a link (each next one links on in turn)."""
        if task.next_id is None:
            return "-"
        following = Task.objects.filter(pk=task.next_id).only("pk", "occurrence").first()
        if following is None:
            return "deleted"
        url = reverse("admin:tasks_task_change", args=[following.pk])
        return format_html('<a href="{}">occurrence {}</a>', url, following.occurrence)

    ordering = ["-created_at"]
    date_hierarchy = "created_at"
    actions = ["erase_users_data"]

    def save_model(self, request, obj, form, change):
        """An edit here is a write like one through the API (tasks/writes.py): version 1 or + 1, completed_at and
        tag_keys kept, under the row's lock so that nothing written meanwhile is overwritten unseen."""
        if not change:
            fields = {name: value for name, value in form.cleaned_data.items() if name != "user_id"}
            obj.pk = writes.create(user_id=obj.user_id, fields=fields).pk
            return
        try:
            writes.update(Task.objects.all(), obj.pk, {name: form.cleaned_data[name] for name in form.changed_data})
        except writes.TaskNotFound:
            self.message_user(request, "The task was deleted meanwhile; nothing was saved.", level=messages.ERROR)

    @admin.action(description="Erase this user's data (every task and row kept about them)", permissions=["delete"])
    def erase_users_data(self, request, queryset):
        """An erasure request: the same erasure as DELETE /api/account, after a confirmation page."""
        user_ids = sorted(set(queryset.values_list("user_id", flat=True)))
        if request.POST.get("confirmed") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": "Erase these users' data?",
                "opts": self.model._meta,
                "queryset": queryset,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "users": [(user_id, count_user_rows(user_id=user_id)) for user_id in user_ids],
            }
            return TemplateResponse(request, "admin/tasks/task/erase_users_data.html", context)
        for user_id in user_ids:
            removed = erase_user(user_id=user_id)
            self.message_user(request, f"Erased {sum(removed.values())} rows kept about {user_id}.")
        return None


@admin.register(TaskCount)
class TaskCountAdmin(admin.ModelAdmin):
    """Read-only: the database's triggers keep these rows (migration 0002)."""

    list_display = ["user_id", "total", "completed"]
    search_fields = ["user_id"]
    ordering = ["-total"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
