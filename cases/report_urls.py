"""Public pages of outcome reports: anyone verifies a report and fetches the CA certificate, without logging in."""

from django.urls import path

from . import report_views

app_name = "reports"

urlpatterns = [
    path("verify/", report_views.verify, name="verify"),
    path("ca.pem", report_views.ca_certificate, name="ca"),
]
