from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class OperationsConfig(AppConfig):
    """What operators watch: /metrics for Prometheus, and alert rules evaluated every minute with their history. It
    reads every app's figures, so it sits above them all (below the wiring only)."""

    name = "operations"
    verbose_name = gettext_lazy("Operations")
