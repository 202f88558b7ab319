"""Public pages of outcome reports: anyone verifies a report and fetches the CA certificate, without logging in."""

from django.urls import path

from .views import verify

app_name = "reports"

urlpatterns = [
    path("verify/", verify.verify, name="verify"),
    path("ca.pem", verify.ca_certificate, name="ca"),
]
