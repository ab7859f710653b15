from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

admin.site.site_header = "工会创业贷款贴息管理平台"
admin.site.site_title = "工会贷款贴息平台"
admin.site.index_title = "管理首页"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/", admin.site.urls),
]
