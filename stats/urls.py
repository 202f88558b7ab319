from django.urls import path

from . import views

app_name = "stats"

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("transparency/", views.transparency_page, name="transparency"),
    path("transparency/figures.csv", views.transparency_csv, name="transparency_csv"),
    path("transparency/figures.json", views.transparency_json, name="transparency_json"),
]
