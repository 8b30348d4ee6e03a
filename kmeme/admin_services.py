"""The admin writes only through services.

`ServiceModelForm.save_service` runs once the form's fields are valid, inside the admin view's transaction; a
refusal (`ApplicationError`, or a model `ValidationError`) is shown on the form and nothing is written, nor when
an inline is refused (`ServiceAdmin.render_change_form` rolls the service's work back). The admin then saves
nothing itself: `ServiceAdmin.save_model` and `save_related` are no-ops, so no field reaches the database past
the service.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models, router, transaction
from django.http import HttpRequest

from kmeme.errors import ApplicationError


class ServiceModelForm(forms.ModelForm):
    request: HttpRequest  # set by ServiceAdmin.get_form

    def save_service(self, data: dict[str, Any]) -> models.Model:
        """Call the service that makes this change; return the saved object."""
        raise NotImplementedError

    def _post_clean(self) -> None:
        # Instead of copying the fields onto the instance and saving it, hand them to the service.
        if self.errors:
            return
        try:
            with transaction.atomic():
                self.instance = self.save_service(self.cleaned_data)
        except ApplicationError as exc:
            self.add_error(None, exc.message)
        except ValidationError as exc:
            self.add_error(None, exc.messages)

    def save(self, commit: bool = True) -> models.Model:
        return self.instance

    def save_m2m(self) -> None:
        """The service wrote the relations too."""


def formset_saved_nothing(formset: Any) -> None:
    """Record that an inline formset saved no rows itself. The admin's change message (its History) reads what
    `formset.save()` would have set; a formset that was never saved lacks it and the save ends in a 500."""
    formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []


class ServiceAdmin(admin.ModelAdmin):
    """A ModelAdmin whose add and change forms are ServiceModelForms."""

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> type:
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"request": request})

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Saved by the form's service already."""

    def render_change_form(self, request: HttpRequest, context: dict, *args: Any, **kwargs: Any) -> Any:
        if request.method == "POST":
            # The page is shown again, so the form or an inline was refused. The service ran when the form was
            # validated, before the inlines were; undo it, or the admin view's transaction commits half a save.
            transaction.set_rollback(True, using=router.db_for_write(self.model))
        return super().render_change_form(request, context, *args, **kwargs)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Saved by the form's service already; inlines here are read-only."""
        for formset in formsets:
            formset_saved_nothing(formset)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deleting goes through a service too, where there is one

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown to those who may view it, written by nobody here (superusers included): a service owns the rows."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
