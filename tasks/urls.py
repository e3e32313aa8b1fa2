"""Both route families, `/api/tasks` and `/api/{user_id}/tasks`, each with an optional trailing slash."""

from rest_framework.routers import SimpleRouter

from .views import TaskViewSet

router = SimpleRouter()
router.trailing_slash = "/?"
router.register(r"tasks", TaskViewSet, basename="task")
router.register(r"(?P<user_id>[^/]+)/tasks", TaskViewSet, basename="user-task")

urlpatterns = router.urls
