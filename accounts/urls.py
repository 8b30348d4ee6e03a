from django.urls import path

from accounts.apis import (
    FirebaseLoginApi,
    LogoutApi,
    MyConsentsApi,
    TokenRefreshApi,
    UploadCompleteApi,
    UploadContentApi,
    UploadCreateApi,
    UploadDetailApi,
)

urlpatterns = [
    # GET/DELETE /me is privacy.apis.AccountApi (deleting an account reads every app); it extends MeApi.
    path("me/consents", MyConsentsApi.as_view(), name="my-consents"),
    path("auth/firebase", FirebaseLoginApi.as_view(), name="auth-firebase"),
    path("auth/refresh", TokenRefreshApi.as_view(), name="auth-refresh"),
    path("auth/logout", LogoutApi.as_view(), name="auth-logout"),
    path("uploads", UploadCreateApi.as_view(), name="uploads"),
    path("uploads/<uuid:upload_id>", UploadDetailApi.as_view(), name="upload-detail"),
    path("uploads/<uuid:upload_id>/complete", UploadCompleteApi.as_view(), name="upload-complete"),
    path("uploads/<uuid:upload_id>/content", UploadContentApi.as_view(), name="upload-content"),
]
