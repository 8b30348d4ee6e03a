from django.urls import path

from privacy.apis import AccountApi

urlpatterns = [
    path("me", AccountApi.as_view(), name="me"),
]
