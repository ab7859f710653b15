from rest_framework.routers import SimpleRouter

from loans.api import views

router = SimpleRouter()
router.register("programs", views.ProgramViewSet, basename="program")
router.register("units", views.UnitViewSet, basename="unit")
router.register("applications", views.ApplicationViewSet, basename="application")
router.register("loans", views.LoanViewSet, basename="loan")

urlpatterns = router.urls
