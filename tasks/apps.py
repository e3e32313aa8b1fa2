from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "tasks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from . import checks, schema  # noqa: F401 (register the deploy checks and the OpenAPI extension)
        from .filters import install_unicode_upper

        # Search on SQLite calls unicode_upper() (tasks/filters.py): every connection needs it, the first one too.
        connection_created.connect(install_unicode_upper)
