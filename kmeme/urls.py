from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from kmeme import health

admin.site.site_header = "K-MEME Factory"
admin.site.site_title = "K-MEME Factory admin"
admin.site.index_title = "Review console"

api_v1 = [
    path("", include("accounts.urls")),
    path("", include("remix.urls")),
]

urlpatterns = [
    path("health", health.health, name="health"),
    path("ready", health.ready, name="ready"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/", include((api_v1, "api"), namespace="v1")),
]

handler404 = "kmeme.views.not_found"
handler500 = "kmeme.views.server_error"
