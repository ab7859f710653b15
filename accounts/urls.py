from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views, views_audit

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("audit/", views_audit.AuditSearchView.as_view(), name="audit"),
]
