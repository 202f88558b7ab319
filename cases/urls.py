from django.urls import path

from . import views

app_name = "cases"

urlpatterns = [
    path("", views.case_list, name="list"),
    path("new/", views.case_new, name="new"),
    path("<str:reference>/", views.case_detail, name="detail"),
    path("<str:reference>/do/<str:transition>/", views.case_transition, name="transition"),
    path("<str:reference>/items/decide/", views.decide_items, name="decide_items"),
    path("<str:reference>/items/add/", views.add_items, name="add_items"),
    path("<str:reference>/items/<int:item_id>/remove/", views.remove_item, name="remove_item"),
    path("<str:reference>/assign/", views.assign, name="assign"),
    path("<str:reference>/access/grant/", views.grant, name="grant"),
    path("<str:reference>/access/<int:user_id>/revoke/", views.revoke, name="revoke"),
]
