from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from kmeme import health
from operations.metrics import metrics_view
from remix.views import recipe_page

api_v1 = [
    path("", include("accounts.urls")),
    path("", include("remix.urls")),
    path("", include("genealogy.urls")),
    path("", include("campaigns.urls")),
    path("", include("privacy.urls")),
]

urlpatterns = [
    path("health", health.health, name="health"),
    path("ready", health.ready, name="ready"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/", include((api_v1, "api"), namespace="v1")),
    path("recipes/<uuid:node_id>/", recipe_page, name="recipe-page"),
]

# Development serves downloaded media itself; production serves it from S3 or the web server.
urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler400 = "kmeme.views.bad_request"
handler404 = "kmeme.views.not_found"
handler500 = "kmeme.views.server_error"
