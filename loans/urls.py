from django.urls import path

from loans.views import applications as a
from loans.views import imports, loans

app_name = "loans"

urlpatterns = [
    path("applications/", a.ApplicationListView.as_view(), name="application-list"),
    path("applications/batch/", a.ApplicationBatchView.as_view(), name="application-batch"),
    path("applications/lookup/", a.IntakeLookupView.as_view(), name="intake-lookup"),
    path("applications/new/", a.ApplicationCreateView.as_view(), name="application-create"),
    path(
        "applications/<int:pk>/",
        a.ApplicationDetailView.as_view(),
        name="application-detail",
    ),
    path(
        "applications/<int:pk>/print/",
        a.ApplicationPrintView.as_view(),
        name="application-print",
    ),
    path(
        "applications/<int:pk>/<slug:action>/",
        a.ApplicationActionView.as_view(),
        name="application-action",
    ),
    path("loans/", loans.LoanListView.as_view(), name="loan-list"),
    path("loans/follow-ups-due/", loans.FollowUpsDueView.as_view(), name="follow-ups-due"),
    path("loans/<int:pk>/", loans.LoanDetailView.as_view(), name="loan-detail"),
    path("loans/<int:pk>/follow-up/", loans.FollowUpCreateView.as_view(), name="follow-up-create"),
]
urlpatterns += [
    path("imports/", imports.ImportView.as_view(), name="import"),
    path("imports/jobs/<int:pk>/", imports.ImportJobView.as_view(), name="import-job"),
    path(
        "imports/jobs/<int:pk>/status/",
        imports.ImportJobStatusView.as_view(),
        name="import-job-status",
    ),
    path(
        "imports/jobs/<int:pk>/confirm/",
        imports.ImportConfirmView.as_view(),
        name="import-confirm",
    ),
    path(
        "imports/<slug:resource>/template.xlsx",
        imports.ImportTemplateView.as_view(),
        name="import-template",
    ),
    path("imports/<slug:resource>/export.xlsx", imports.ExportView.as_view(), name="export"),
]
