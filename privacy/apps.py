from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    """Users' data rights: exporting everything we hold about a person, and forgetting them. It reads every app's
    data about a user, so it sits above them all."""

    name = "privacy"
    verbose_name = "Data rights"
