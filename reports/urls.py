from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("dashboard/", views.DashboardView.as_view(), name="dashboard"),
    path("reports/monthly/", views.MonthlyStatsView.as_view(), name="monthly"),
    path("reports/announcement/", views.AnnouncementView.as_view(), name="announcement"),
    path("exports/", views.ExportListView.as_view(), name="exports"),
    path("exports/start/<slug:code>/", views.ExportStartView.as_view(), name="export-start"),
    path("exports/<int:pk>/", views.ExportJobView.as_view(), name="export-job"),
    path("exports/<int:pk>/status/", views.ExportStatusView.as_view(), name="export-status"),
    path("exports/<int:pk>/download/", views.ExportDownloadView.as_view(), name="export-download"),
    path("reports/annual/", views.AnnualAnalysisView.as_view(), name="annual"),
    path("reports/annual.xlsx", views.AnnualWorkbookView.as_view(), name="annual-xlsx"),
]
