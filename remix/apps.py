from django.apps import AppConfig


class RemixConfig(AppConfig):
    name = "remix"
    verbose_name = "Remix"
