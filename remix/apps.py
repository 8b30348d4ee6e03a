from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class RemixConfig(AppConfig):
    name = "remix"
    verbose_name = gettext_lazy("Remix")
