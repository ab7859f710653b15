from rest_framework.routers import SimpleRouter

from subsidies.api import views

router = SimpleRouter()
router.register("subsidy-claims", views.SubsidyClaimViewSet, basename="subsidy-claim")

urlpatterns = router.urls
