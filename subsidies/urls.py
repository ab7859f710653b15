from django.urls import path

from subsidies import views

app_name = "subsidies"

urlpatterns = [
    path("subsidies/claims/", views.ClaimLedgerView.as_view(), name="claim-ledger"),
    path("subsidies/batches/", views.BatchListView.as_view(), name="batch-list"),
    path("subsidies/batches/new/", views.BatchCreateView.as_view(), name="batch-create"),
    path("subsidies/batches/<int:pk>/", views.BatchDetailView.as_view(), name="batch-detail"),
    path(
        "subsidies/batches/<int:pk>/approve/",
        views.BatchApproveView.as_view(),
        name="batch-approve",
    ),
    path("subsidies/batches/<int:pk>/pay/", views.BatchPayView.as_view(), name="batch-pay"),
    path("subsidies/allocation/", views.AllocationView.as_view(), name="allocation"),
    path(
        "subsidies/allocation/freeze/",
        views.AllocationFreezeView.as_view(),
        name="allocation-freeze",
    ),
]
