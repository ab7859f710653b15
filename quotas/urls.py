from django.urls import path

from quotas import views

app_name = "quotas"

urlpatterns = [
    path("quotas/", views.QuotaListView.as_view(), name="quota-list"),
    path(
        "quotas/reallocations/",
        views.ReallocationCreateView.as_view(),
        name="reallocation-create",
    ),
]
