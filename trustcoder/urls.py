from django.contrib import admin
from django.urls import include, path

from negotiations.api.urls import api_urls
from negotiations.members.views import password_reset
from negotiations.studies.views import home

urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    # Before Django's own, so that without e-mail set up the page explains what to do instead.
    path("accounts/password_reset/", password_reset, name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/", api_urls()),
    path("", include("negotiations.urls")),
]
