"""The admin: tasks to inspect, the per-user counts read-only, and the erasure of a user's data on request."""

from django.contrib import admin
from django.contrib.admin import helpers
from django.template.response import TemplateResponse

from .account import count_user_rows, erase_user
from .models import Task, TaskCount


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["title", "user_id", "completed", "created_at", "updated_at"]
    list_filter = ["completed", "created_at"]
    search_fields = ["title", "user_id"]
    readonly_fields = ["id", "completed_at", "version", "created_at", "updated_at"]
    ordering = ["-created_at"]
    date_hierarchy = "created_at"
    actions = ["erase_users_data"]

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
