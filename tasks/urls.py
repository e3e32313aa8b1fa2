"""Both route families, `/api/...` and `/api/{user_id}/...`, each with an optional trailing slash."""

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from .account_views import AccountExportView, AccountView
from .views import TagViewSet, TaskViewSet

router = SimpleRouter()
router.trailing_slash = "/?"
router.register(r"tasks", TaskViewSet, basename="task")
router.register(r"(?P<user_id>[^/]+)/tasks", TaskViewSet, basename="user-task")
router.register(r"tags", TagViewSet, basename="tag")
router.register(r"(?P<user_id>[^/]+)/tags", TagViewSet, basename="user-tag")

urlpatterns = [
    *router.urls,
    re_path(r"^account/export/?$", AccountExportView.as_view(), name="account-export"),
    re_path(r"^(?P<user_id>[^/]+)/account/export/?$", AccountExportView.as_view(), name="user-account-export"),
    re_path(r"^account/?$", AccountView.as_view(), name="account"),
    re_path(r"^(?P<user_id>[^/]+)/account/?$", AccountView.as_view(), name="user-account"),
]
