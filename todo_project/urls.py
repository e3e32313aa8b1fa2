"""Routes: health checks, metrics, the API with its schema and docs, the MCP server for agents, the admin. Every
route takes an optional slash."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from tasks.mcp import MCPView, ProtectedResourceMetadata

from .metrics import MetricsView
from .views import Liveness, Readiness, UnknownRoute

urlpatterns = [
    re_path(r"^health/?$", Liveness.as_view(), name="health"),
    re_path(r"^health/ready/?$", Readiness.as_view(), name="health-ready"),
    re_path(r"^metrics/?$", MetricsView.as_view(), name="metrics"),
    re_path(r"^api/schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(r"^api/docs/?$", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/", include("tasks.urls")),
    re_path(r"^api(/.*)?$", UnknownRoute.as_view()),
    re_path(r"^mcp/?$", MCPView.as_view(), name="mcp"),
    re_path(
        r"^\.well-known/oauth-protected-resource/mcp/?$",
        ProtectedResourceMetadata.as_view(),
        name="mcp-resource-metadata",
    ),
    path("admin/", admin.site.urls),
]

handler400 = "todo_project.errors.bad_request"
handler403 = "todo_project.errors.permission_denied"
handler404 = "todo_project.errors.page_not_found"
handler500 = "todo_project.errors.server_error"
