"""The account page's token URLs (in the ``negotiations`` namespace) and the API itself."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path

from negotiations.api import views
from negotiations.api.endpoints import api

urlpatterns = [
    path("account/api-tokens/", views.api_tokens, name="api_tokens"),
    path(
        "studies/<slug:slug>/exports/replication-package/",
        views.replication_package,
        name="replication_package",
    ),
    path(
        "studies/<slug:slug>/exports/replication-package/start/",
        views.replication_package_start,
        name="replication_package_start",
    ),
    path(
        "account/api-tokens/<int:token_id>/revoke/",
        views.api_token_revoke,
        name="api_token_revoke",
    ),
]


def api_urls():
    """The API's URLs. They answer 401 themselves (token or session), so the login redirect of
    `LoginRequiredMiddleware` is lifted from them."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        pattern.callback = login_not_required(pattern.callback)
    return patterns, app_name, namespace
