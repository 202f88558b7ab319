from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("organisation/", views.organization, name="organization"),
    path("organisation/invite/", views.invite, name="invite"),
    path("organisation/invitations/<int:pk>/revoke/", views.revoke_invitation, name="revoke_invitation"),
    path("organisation/members/<int:pk>/deactivate/", views.deactivate, name="deactivate"),
    path("organisation/members/<int:pk>/reactivate/", views.reactivate, name="reactivate"),
    path("invitations/<str:token>/", views.accept_invitation, name="accept_invitation"),
    path("preferences/", views.preferences, name="preferences"),
]
