from django.urls import path

from . import deadline_views, evidence_views, inbound_views, thread_views, views

app_name = "cases"

urlpatterns = [
    path("", views.case_list, name="list"),
    path("new/", views.case_new, name="new"),
    path("notifications/", thread_views.notifications, name="notifications"),
    path("notifications/bell/", thread_views.bell, name="bell"),
    path("notifications/preferences/", thread_views.preferences, name="notification_preferences"),
    path("notifications/<int:pk>/open/", thread_views.open_notification, name="open_notification"),
    path("mark-all-read/", thread_views.mark_all_read, name="mark_all_read"),
    path("sla-policies/", deadline_views.sla_policies, name="sla_policies"),
    path("inbound/", inbound_views.inbound_list, name="inbound_list"),
    path("inbound/<int:pk>/", inbound_views.inbound_detail, name="inbound_detail"),
    path("inbound/<int:pk>/raw/", inbound_views.inbound_raw, name="inbound_raw"),
    path("inbound/<int:pk>/release/", inbound_views.inbound_release, name="inbound_release"),
    path("inbound/<int:pk>/reject/", inbound_views.inbound_reject, name="inbound_reject"),
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
    path("<str:reference>/deadlines/propose/", deadline_views.propose, name="propose_deadline"),
    path("<str:reference>/deadlines/proposals/<int:proposal_id>/answer/", deadline_views.answer,
         name="answer_proposal"),
    path("<str:reference>/thread/", thread_views.thread_fragment, name="thread"),
    path("<str:reference>/messages/", thread_views.post, name="post_message"),
    path("<str:reference>/messages/<int:message_id>/edit/", thread_views.edit, name="edit_message"),
]
