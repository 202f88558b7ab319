"""/api/: the versioned API under v1/, its schema and documentation, and the token pages of the preferences."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from liaison.input_policy import register_path_converters

from . import token_pages
from .views import cases, items, thread

register_path_converters()

app_name = "api"

v1 = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("cases/", cases.CaseListView.as_view(), name="cases"),
    path("cases/<str:reference>/", cases.CaseDetailView.as_view(), name="case"),
    *[path(f"cases/<str:reference>/{transition.replace('_', '-')}/", view.as_view(), name=f"case_{transition}")
      for transition, view in cases.TRANSITION_VIEWS.items()],
    path("cases/<str:reference>/items/", items.ItemsView.as_view(), name="items"),
    path("cases/<str:reference>/items/outcomes/", items.OutcomesView.as_view(), name="outcomes"),
    path("cases/<str:reference>/messages/", thread.MessagesView.as_view(), name="messages"),
]

urlpatterns = [
    path("v1/", include(v1)),
    path("tokens/new/", token_pages.create_token, name="create_token"),
    path("tokens/<id:pk>/revoke/", token_pages.revoke_token, name="revoke_token"),
]
