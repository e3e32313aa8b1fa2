"""The path's user: every route under `/api/{user_id}/` serves the token's user only."""

from rest_framework.exceptions import NotFound


class UserPathMixin:
    """A `user_id` in the path must be the token's `sub`: another user's path looks exactly like a task that does
    not exist (404)."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if kwargs.get("user_id", request.user.id) != request.user.id:
            raise NotFound()
