from django.urls import path

from liaison.input_policy import register_path_converters

from . import views

register_path_converters()  # <id:…>: a row id, never a number beyond a bigint

app_name = "accounts"

urlpatterns = [
    path("organisation/", views.organization, name="organization"),
    path("organisation/invite/", views.invite, name="invite"),
    path("organisation/invitations/<id:pk>/revoke/", views.revoke_invitation, name="revoke_invitation"),
    path("organisation/members/<id:pk>/deactivate/", views.deactivate, name="deactivate"),
    path("organisation/members/<id:pk>/reactivate/", views.reactivate, name="reactivate"),
    path("invitations/<str:token>/", views.accept_invitation, name="accept_invitation"),
    path("preferences/", views.preferences, name="preferences"),
]
