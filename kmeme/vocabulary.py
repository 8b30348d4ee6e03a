"""Words the whole product shares, below every app: the AI's analysis schema and the apps' models use them."""

from django.db import models
from django.utils.translation import gettext_lazy


class CommerceCategory(models.TextChoices):
    NONE = "none", gettext_lazy("No commerce")
    BEAUTY = "beauty", gettext_lazy("Beauty")
    FASHION = "fashion", gettext_lazy("Fashion")
    FOOD = "food", gettext_lazy("Food & drink")
    TECH = "tech", gettext_lazy("Tech & gadgets")
    LIFESTYLE = "lifestyle", gettext_lazy("Lifestyle & home")
    TRAVEL = "travel", gettext_lazy("Travel & places")
    FITNESS = "fitness", gettext_lazy("Fitness & health")
    ENTERTAINMENT = "entertainment", gettext_lazy("Entertainment & K-pop")
