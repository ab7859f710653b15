"""The bank REST API: /api/v1/ resources, the OpenAPI schema and Swagger UI (served locally)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

app_name = "api"

urlpatterns = [
    path("v1/", include("accounts.api.urls")),
    path("v1/", include("loans.api.urls")),
    path("v1/", include("quotas.api.urls")),
    path("v1/", include("subsidies.api.urls")),
    path("v1/", include("reports.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
]
