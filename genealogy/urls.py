from django.urls import path

from genealogy.apis import NodeStrategiesApi

urlpatterns = [
    path("nodes/<uuid:node_id>/strategies", NodeStrategiesApi.as_view(), name="node-strategies"),
]
