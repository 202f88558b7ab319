from django.urls import path

from liaison.input_policy import register_path_converters

from . import views

register_path_converters()  # <id:…>: a row id, never a number beyond a bigint

app_name = "webhooks"

urlpatterns = [
    path("", views.endpoints, name="endpoints"),
    path("add/", views.add_endpoint, name="add"),
    path("<id:pk>/", views.endpoint_detail, name="endpoint"),
    path("<id:pk>/disable/", views.set_active, {"active": False}, name="disable"),
    path("<id:pk>/enable/", views.set_active, {"active": True}, name="enable"),
    path("<id:pk>/rotate/", views.rotate, name="rotate"),
    path("<id:pk>/delete/", views.delete, name="delete"),
    path("<id:pk>/deliveries/<id:delivery_pk>/redeliver/", views.redeliver, name="redeliver"),
]
