from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("dashboard/", views.DashboardView.as_view(), name="dashboard"),
    path("reports/monthly/", views.MonthlyStatsView.as_view(), name="monthly"),
    path("reports/announcement/", views.AnnouncementView.as_view(), name="announcement"),
    path("reports/annual/", views.AnnualAnalysisView.as_view(), name="annual"),
    path("reports/annual.xlsx", views.AnnualWorkbookView.as_view(), name="annual-xlsx"),
    path("reports/roster.xlsx", views.RosterWorkbookView.as_view(), name="roster-xlsx"),
]
