from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class AiConfig(AppConfig):
    """The AI providers' infrastructure as a Django app, for its one model: the ledger of provider calls."""

    name = "kmeme.ai"
    label = "ai"
    verbose_name = gettext_lazy("AI providers")

    def ready(self) -> None:
        from kmeme.ai import checks  # noqa: F401, PLC0415 - registers the system checks once the apps are loaded
