"""Page-number pagination for every list, answering bad `page` and `page_size` values as the schema says.

`page` is a whole number from 1 (1 when absent); one that is not, or lies past the last page, is a 404
`invalid_page` in the error shape (DRF's status for it, with our own code; page 1 of an empty list is an empty
page). `page_size` is a whole number from 1, 20 when absent; above 100 it is taken as 100; one that is not a
whole number from 1 is a 400 `validation_error` naming `page_size`. The schema's parameters say the same.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import exceptions, pagination, status
from rest_framework.request import Request

from kmeme.errors import ApplicationError

PAGE_DESCRIPTION = (
    "Page number, from 1 (the default). A page that is not a whole number from 1, or lies past the last page, "
    "is answered 404 `invalid_page`."
)
PAGE_SIZE_DESCRIPTION = (
    "Results per page, from 1; {default} by default, and at most {maximum} (a larger value gives {maximum}). "
    "A value that is not a whole number from 1 is answered 400 `validation_error`."
)


class PageNumberPagination(pagination.PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    last_page_strings = ()  # `page=last` is not in the schema, so it is not a page either

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            raise exceptions.ValidationError({self.page_size_query_param: [_("A whole number from 1 is required.")]})
        return min(size, self.max_page_size)

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list | None:
        try:
            return super().paginate_queryset(queryset, request, view)
        except exceptions.NotFound as exc:
            raise ApplicationError(
                _("There is no such page."),
                code="invalid_page",
                status_code=status.HTTP_404_NOT_FOUND,
                details={self.page_query_param: request.query_params.get(self.page_query_param)},
            ) from exc

    def get_schema_operation_parameters(self, view: Any) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_query_param:
                parameter["description"] = PAGE_DESCRIPTION
            else:
                parameter["schema"]["default"] = self.page_size
                parameter["description"] = PAGE_SIZE_DESCRIPTION.format(
                    default=self.page_size, maximum=self.max_page_size
                )
        return parameters
