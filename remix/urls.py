from django.urls import path

from remix.apis import (
    AnalysisCreateApi,
    AnalysisDetailApi,
    NodeDetailApi,
    NodeForkApi,
    NodeGuideApi,
    NodeListApi,
    NodePublishApi,
    NodeSimilarApi,
)

urlpatterns = [
    path("analyses", AnalysisCreateApi.as_view(), name="analyses"),
    path("analyses/<uuid:node_id>", AnalysisDetailApi.as_view(), name="analysis-detail"),
    path("nodes", NodeListApi.as_view(), name="nodes"),
    path("nodes/<uuid:node_id>", NodeDetailApi.as_view(), name="node-detail"),
    path("nodes/<uuid:node_id>/guide.txt", NodeGuideApi.as_view(), name="node-guide"),
    path("nodes/<uuid:node_id>/forks", NodeForkApi.as_view(), name="node-forks"),
    path("nodes/<uuid:node_id>/publish", NodePublishApi.as_view(), name="node-publish"),
    path("nodes/<uuid:node_id>/similar", NodeSimilarApi.as_view(), name="node-similar"),
]
