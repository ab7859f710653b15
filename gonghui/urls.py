from django.contrib import admin
from django.urls import include, path

from gonghui.health import healthz

admin.site.site_header = "工会创业贷款贴息管理平台"
admin.site.site_title = "工会贷款贴息平台"
admin.site.index_title = "管理首页"

urlpatterns = [
    path("", include("accounts.urls")),
    path("", include("loans.urls")),
    path("", include("quotas.urls")),
    path("", include("reports.urls")),
    path("", include("subsidies.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("gonghui.api_urls")),
    path("healthz", healthz, name="healthz"),
]

# A 500 caused by the database being down is answered with the plain 503 page.
handler500 = "gonghui.middleware.server_error"
