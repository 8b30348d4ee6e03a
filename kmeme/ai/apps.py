from django.apps import AppConfig


class AiConfig(AppConfig):
    """The AI providers' infrastructure as a Django app, for its one model: the ledger of provider calls."""

    name = "kmeme.ai"
    label = "ai"
    verbose_name = "AI providers"

    def ready(self) -> None:
        from kmeme.ai import checks  # noqa: F401, PLC0415 - registers the system checks once the apps are loaded
