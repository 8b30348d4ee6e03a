from django.urls import path

urlpatterns: list = [
    # Filled by the export and anonymization endpoints.
]
