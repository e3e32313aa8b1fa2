from django.contrib import admin

from .models import Task, TaskCount


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["title", "user_id", "completed", "created_at", "updated_at"]
    list_filter = ["completed", "created_at"]
    search_fields = ["title", "user_id"]
    readonly_fields = ["id", "created_at", "updated_at"]
    ordering = ["-created_at"]
    date_hierarchy = "created_at"


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
