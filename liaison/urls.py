from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from cases.views import inbox as case_inbox

from . import views

urlpatterns = [
    path("", case_inbox.overview, name="home"),
    path("health/", views.health, name="health"),
    path("cases/", include("cases.urls")),
    path("reports/", include("cases.report_urls")),
    path("exports/", include("exports.urls")),
    path("", include("stats.urls")),
    path("api/", include("api.urls")),
    path("accounts/", include("allauth.urls")),
    path("organisation/webhooks/", include("webhooks.urls")),
    path("", include("accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("favicon.ico", RedirectView.as_view(url=settings.STATIC_URL + "img/favicon.svg", permanent=True)),
]
