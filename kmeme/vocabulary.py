"""Words the whole product shares, below every app: the AI's analysis schema and the apps' models use them."""

from django.db import models


class CommerceCategory(models.TextChoices):
    NONE = "none", "No commerce"
    BEAUTY = "beauty", "Beauty"
    FASHION = "fashion", "Fashion"
    FOOD = "food", "Food & drink"
    TECH = "tech", "Tech & gadgets"
    LIFESTYLE = "lifestyle", "Lifestyle & home"
    TRAVEL = "travel", "Travel & places"
    FITNESS = "fitness", "Fitness & health"
    ENTERTAINMENT = "entertainment", "Entertainment & K-pop"
