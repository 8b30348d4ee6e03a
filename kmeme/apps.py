from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy


class KmemeAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with our site: the review queue is its landing page."""

    default = False
    default_site = "kmeme.admin_site.KmemeAdminSite"


class KmemeConfig(AppConfig):
    default = True
    name = "kmeme"
    verbose_name = gettext_lazy("K-MEME Factory")
