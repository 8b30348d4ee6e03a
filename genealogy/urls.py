from django.urls import path

from genealogy.apis import NodeLineageApi, NodeStrategiesApi

urlpatterns = [
    path("nodes/<uuid:node_id>/lineage", NodeLineageApi.as_view(), name="node-lineage"),
    path("nodes/<uuid:node_id>/strategies", NodeStrategiesApi.as_view(), name="node-strategies"),
]
