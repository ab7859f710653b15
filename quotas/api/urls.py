from rest_framework.routers import SimpleRouter

from quotas.api import views

router = SimpleRouter()
router.register("quotas", views.QuotaViewSet, basename="quota")

urlpatterns = router.urls
