"""The project's routes and one that fails with a bug, for what a 500 leaves behind (response, logs, Sentry)."""

from django.urls import path

from todo_project.urls import handler400, handler403, handler404, handler500, urlpatterns  # noqa: F401


def fail(request):
    # A bug that holds the caller's token in a local variable and in its message, as careless code might.
    authorization = request.headers.get("Authorization", "")
    raise RuntimeError(f"forced failure while handling {authorization}")


urlpatterns = [path("fail", fail), *urlpatterns]
