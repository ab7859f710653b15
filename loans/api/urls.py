from django.urls import path
from rest_framework.routers import SimpleRouter

from loans.api import views, webhooks

router = SimpleRouter()
router.register("programs", views.ProgramViewSet, basename="program")
router.register("units", views.UnitViewSet, basename="unit")
router.register("applications", views.ApplicationViewSet, basename="application")
router.register("loans", views.LoanViewSet, basename="loan")
router.register("webhook/deliveries", webhooks.WebhookDeliveryViewSet, basename="webhook-delivery")
router.register("audit", webhooks.ApiAuditViewSet, basename="audit")

urlpatterns = [
    path("webhook/", webhooks.WebhookView.as_view(), name="webhook"),
    *router.urls,
]

# Every write through these URLs is recorded in the audit trail (loans.models.ApiAuditEntry).
OBJECT_TYPES = {"webhook": "webhook", "webhook-delivery": "webhook_delivery"}
for pattern in urlpatterns:
    basename = getattr(pattern.callback, "initkwargs", {}).get("basename") or pattern.name
    pattern.callback = webhooks.audited(pattern.callback, OBJECT_TYPES.get(basename, basename))
