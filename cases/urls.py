from django.urls import path

from . import evidence_views, views

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
    path("<str:reference>/evidence/upload/", evidence_views.upload, name="evidence_upload"),
    path("<str:reference>/evidence/<int:evidence_id>/", evidence_views.evidence_page, name="evidence"),
    path("<str:reference>/evidence/<int:evidence_id>/download/", evidence_views.download, name="evidence_download"),
    path("<str:reference>/evidence/<int:evidence_id>/preview/", evidence_views.preview, name="evidence_preview"),
    path("<str:reference>/evidence/<int:evidence_id>/withdraw/", evidence_views.withdraw, name="evidence_withdraw"),
    path("<str:reference>/holds/", evidence_views.place_hold, name="place_hold"),
    path("<str:reference>/holds/<int:hold_id>/lift/", evidence_views.lift_hold, name="lift_hold"),
]
