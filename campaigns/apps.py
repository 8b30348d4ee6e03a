from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = gettext_lazy("Brand campaigns")
