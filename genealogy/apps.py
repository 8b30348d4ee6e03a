from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class GenealogyConfig(AppConfig):
    name = "genealogy"
    verbose_name = gettext_lazy("Genealogy")
