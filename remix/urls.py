from django.urls import path

from remix.apis import AnalysisCreateApi, AnalysisDetailApi

urlpatterns = [
    path("analyses", AnalysisCreateApi.as_view(), name="analyses"),
    path("analyses/<uuid:node_id>", AnalysisDetailApi.as_view(), name="analysis-detail"),
]
