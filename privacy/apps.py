from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class PrivacyConfig(AppConfig):
    """Users' data rights: exporting everything we hold about a person, and forgetting them. It reads every app's
    data about a user, so it sits above them all."""

    name = "privacy"
    verbose_name = gettext_lazy("Data rights")
