from django.urls import path

from liaison.input_policy import register_path_converters

from .views import audit, case, deadlines, evidence, inbound, inbox, intake, notifications, reports, thread

register_path_converters()  # <id:…>: a row id, never a number beyond a bigint

app_name = "cases"

urlpatterns = [
    path("", inbox.case_list, name="list"),
    path("new/", intake.case_new, name="new"),
    path("notifications/", notifications.notifications, name="notifications"),
    path("notifications/bell/", notifications.bell, name="bell"),
    path("notifications/preferences/", notifications.preferences, name="notification_preferences"),
    path("notifications/<id:pk>/open/", notifications.open_notification, name="open_notification"),
    path("mark-all-read/", thread.mark_all_read, name="mark_all_read"),
    path("sla-policies/", deadlines.sla_policies, name="sla_policies"),
    path("audit/checkpoints/", audit.checkpoints, name="audit_checkpoints"),
    path("audit/checkpoints/latest/", audit.download_latest_checkpoint, name="latest_audit_checkpoint"),
    path("audit/checkpoints/new/", audit.make_checkpoint_now, name="make_audit_checkpoint"),
    path("audit/checkpoints/<id:sequence>/", audit.download_checkpoint, name="audit_checkpoint"),
    path("inbound/", inbound.inbound_list, name="inbound_list"),
    path("inbound/<id:pk>/", inbound.inbound_detail, name="inbound_detail"),
    path("inbound/<id:pk>/raw/", inbound.inbound_raw, name="inbound_raw"),
    path("inbound/<id:pk>/release/", inbound.inbound_release, name="inbound_release"),
    path("inbound/<id:pk>/reject/", inbound.inbound_reject, name="inbound_reject"),
    path("inbound/<id:pk>/release-reply/", inbound.inbound_release_reply, name="inbound_release_reply"),
    path("<str:reference>/", case.case_detail, name="detail"),
    path("<str:reference>/do/<str:transition>/", case.case_transition, name="transition"),
    path("<str:reference>/items/decide/", case.decide_items, name="decide_items"),
    path("<str:reference>/items/add/", intake.add_items, name="add_items"),
    path("<str:reference>/items/<id:item_id>/remove/", case.remove_item, name="remove_item"),
    path("<str:reference>/assign/", case.assign, name="assign"),
    path("<str:reference>/access/grant/", case.grant, name="grant"),
    path("<str:reference>/access/<id:user_id>/revoke/", case.revoke, name="revoke"),
    path("<str:reference>/evidence/upload/", evidence.upload, name="evidence_upload"),
    path("<str:reference>/evidence/<id:evidence_id>/", evidence.evidence_page, name="evidence"),
    path("<str:reference>/evidence/<id:evidence_id>/download/", evidence.download, name="evidence_download"),
    path("<str:reference>/evidence/<id:evidence_id>/preview/", evidence.preview, name="evidence_preview"),
    path("<str:reference>/evidence/<id:evidence_id>/withdraw/", evidence.withdraw, name="evidence_withdraw"),
    path("<str:reference>/holds/", evidence.place_hold, name="place_hold"),
    path("<str:reference>/holds/<id:hold_id>/lift/", evidence.lift_hold, name="lift_hold"),
    path("<str:reference>/deadlines/propose/", deadlines.propose, name="propose_deadline"),
    path("<str:reference>/deadlines/proposals/<id:proposal_id>/answer/", deadlines.answer,
         name="answer_proposal"),
    path("<str:reference>/thread/", thread.thread_fragment, name="thread"),
    path("<str:reference>/messages/", thread.post, name="post_message"),
    path("<str:reference>/messages/<id:message_id>/edit/", thread.edit, name="edit_message"),
    path("<str:reference>/reports/", reports.reports_panel, name="reports"),
    path("<str:reference>/reports/request/", reports.request_report, name="request_report"),
    path("<str:reference>/reports/<id:version>/download/", reports.download_report, name="download_report"),
]
