"""/api/: the versioned API under v1/, its schema and documentation, and the token pages of the preferences."""

from django.urls import include, path, re_path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from liaison.input_policy import register_path_converters

from . import token_pages
from .views import base, cases, deadlines, evidence, items, records, reference, reports, thread, webhooks


class CaseReference:
    """`ID-2026-000123`: anything else matches no route (a problem-details 404), and the schema says so."""

    regex = r"[A-Z]{2}-[0-9]{4}-[0-9]{1,6}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_path_converters()
register_converter(CaseReference, "case_reference")

app_name = "api"

v1 = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema", template_name="api/swagger_ui.html"),
         name="docs"),
    path("categories/", reference.CategoriesView.as_view(), name="categories"),
    path("platforms/", reference.PlatformsView.as_view(), name="platforms"),
    path("cases/", cases.CaseListView.as_view(), name="cases"),
    path("cases/<case_reference:reference>/", cases.CaseDetailView.as_view(), name="case"),
    *[path(f"cases/<case_reference:reference>/{transition.replace('_', '-')}/", view.as_view(), name=f"case_{transition}")
      for transition, view in cases.TRANSITION_VIEWS.items()],
    path("cases/<case_reference:reference>/items/", items.ItemsView.as_view(), name="items"),
    path("cases/<case_reference:reference>/items/outcomes/", items.OutcomesView.as_view(), name="outcomes"),
    path("cases/<case_reference:reference>/messages/", thread.MessagesView.as_view(), name="messages"),
    path("cases/<case_reference:reference>/evidence/", evidence.EvidenceListView.as_view(), name="evidence"),
    path("cases/<case_reference:reference>/evidence/<id:evidence_id>/download/",
         evidence.EvidenceDownloadView.as_view(), name="evidence_download"),
    path("cases/<case_reference:reference>/deadlines/", deadlines.DeadlinesView.as_view(), name="deadlines"),
    path("cases/<case_reference:reference>/deadlines/proposals/", deadlines.ProposalsView.as_view(),
         name="proposals"),
    path("cases/<case_reference:reference>/deadlines/proposals/<id:proposal_id>/accept/",
         deadlines.AcceptView.as_view(), name="proposal_accept"),
    path("cases/<case_reference:reference>/deadlines/proposals/<id:proposal_id>/reject/",
         deadlines.RejectView.as_view(), name="proposal_reject"),
    path("cases/<case_reference:reference>/reports/", reports.ReportsView.as_view(), name="reports"),
    path("cases/<case_reference:reference>/reports/<id:version>/download/", reports.ReportDownloadView.as_view(),
         name="report_download"),
    path("reports/verify/", reports.VerifyView.as_view(), name="verify"),
    path("audit/checkpoints/", records.CheckpointsView.as_view(), name="checkpoints"),
    path("audit/checkpoints/<id:sequence>/", records.CheckpointDownloadView.as_view(), name="checkpoint"),
    path("notifications/", records.NotificationsView.as_view(), name="notifications"),
    path("webhooks/endpoints/", webhooks.EndpointsView.as_view(), name="webhook_endpoints"),
    path("webhooks/endpoints/<id:endpoint_id>/", webhooks.EndpointView.as_view(), name="webhook_endpoint"),
    path("webhooks/endpoints/<id:endpoint_id>/rotate-secret/", webhooks.RotateSecretView.as_view(),
         name="webhook_rotate_secret"),
    path("webhooks/endpoints/<id:endpoint_id>/deliveries/", webhooks.DeliveriesView.as_view(),
         name="webhook_deliveries"),
    path("webhooks/endpoints/<id:endpoint_id>/deliveries/<id:delivery_id>/redeliver/",
         webhooks.RedeliverView.as_view(), name="webhook_redeliver"),
    re_path(r"^.*$", base.not_found, name="not_found"),
]

urlpatterns = [
    path("v1/", include(v1)),
    path("tokens/new/", token_pages.create_token, name="create_token"),
    path("tokens/<id:pk>/revoke/", token_pages.revoke_token, name="revoke_token"),
]
