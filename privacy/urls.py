from django.urls import path

from privacy.apis import AccountApi, MyExportDetailApi, MyExportDownloadApi, MyExportListApi, MyExportsApi

urlpatterns = [
    path("me", AccountApi.as_view(), name="me"),
    path("me/export", MyExportsApi.as_view(), name="my-exports"),
    path("me/exports", MyExportListApi.as_view(), name="my-export-list"),
    path("me/export/<uuid:export_id>", MyExportDetailApi.as_view(), name="my-export"),
    path("me/export/<uuid:export_id>/download", MyExportDownloadApi.as_view(), name="my-export-download"),
]
