from django.conf import settings
from django.contrib import admin, messages
from django.utils.translation import gettext as _

from kmeme.ai.budget import budget_month_spend
from kmeme.ai.circuit import PROVIDERS, circuit_state
from kmeme.ai.models import AICall


@admin.register(AICall)
class AICallAdmin(admin.ModelAdmin):
    """The spend ledger: written by the pipeline only."""

    list_display = ["created_at", "provider", "model", "purpose", "status", "input_tokens", "output_tokens", "cost_usd"]
    list_filter = ["provider", "purpose", "status"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        # The state of the spend and the providers, where operators look at the ledger.
        spent, cap = budget_month_spend(), settings.LLM_MONTHLY_CAP
        self.message_user(
            request,
            _("This month: $%(spent)s of the $%(cap)s cap spent or reserved.")
            % {"spent": f"{spent:.2f}", "cap": f"{cap:.2f}"},
            messages.INFO,
        )
        for provider in PROVIDERS:
            state = circuit_state(provider=provider)
            level = messages.INFO if state["state"] == "closed" else messages.WARNING
            detail = f" until {state['open_until']}" if "open_until" in state else ""
            self.message_user(
                request,
                _("%(provider)s circuit: %(value)s%(detail)s.")
                % {"provider": provider, "value": state["state"], "detail": detail},
                level,
            )
        return super().changelist_view(request, extra_context)
