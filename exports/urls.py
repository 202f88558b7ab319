from django.urls import path

from . import views

app_name = "exports"

urlpatterns = [
    path("", views.start, name="start"),
    path("<uuid:token>/", views.status, name="status"),
    path("<uuid:token>/progress/", views.progress, name="progress"),
    path("<uuid:token>/download/", views.download, name="download"),
]
