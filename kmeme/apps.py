from django.apps import AppConfig


class KmemeConfig(AppConfig):
    name = "kmeme"
    verbose_name = "K-MEME Factory"

    def ready(self) -> None:
        from kmeme.ai import checks  # noqa: F401 - registers the system checks
