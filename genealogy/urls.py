from django.urls import path

from genealogy.apis import NodeLineageApi, NodeLineageSvgApi, NodeStrategiesApi

urlpatterns = [
    path("nodes/<uuid:node_id>/lineage", NodeLineageApi.as_view(), name="node-lineage"),
    path("nodes/<uuid:node_id>/lineage.svg", NodeLineageSvgApi.as_view(), name="node-lineage-svg"),
    path("nodes/<uuid:node_id>/strategies", NodeStrategiesApi.as_view(), name="node-strategies"),
]
