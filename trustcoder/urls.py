from django.contrib import admin
from django.urls import include, path

from negotiations.api.urls import api_urls
from negotiations.studies.views import home

urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/", api_urls()),
    path("", include("negotiations.urls")),
]
