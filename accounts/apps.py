from importlib import import_module

from axes.apps import AppConfig as AxesAppConfig
from django.apps import AppConfig
from django.contrib.auth.signals import user_login_failed
from django.utils.translation import gettext_lazy
from django_otp.plugins.otp_totp.apps import DefaultConfig as TOTPAppConfig


class AccountsConfig(AppConfig):
    # Explicitly the default: this module also holds (and imports) other apps' configs.
    default = True
    name = "accounts"
    verbose_name = gettext_lazy("Accounts")

    def ready(self) -> None:
        # Both modules import models, so they can be loaded only now that the app registry is ready.
        lockout = import_module("accounts.lockout")
        axes_signals = import_module("axes.signals")
        # Connected after axes' own receivers (axes is installed first), so a failure is already counted.
        user_login_failed.connect(lockout.sign_in_failure_audit, dispatch_uid="accounts.sign_in_failure_audit")
        axes_signals.user_locked_out.connect(lockout.sign_in_lockout_audit, dispatch_uid="accounts.sign_in_lockout")


class SignInLockoutsConfig(AxesAppConfig):
    """django-axes, named for what editors see in the admin."""

    default = False
    verbose_name = gettext_lazy("Sign-in lockouts")


class TwoFactorDevicesConfig(TOTPAppConfig):
    """django-otp's TOTP devices, named for what editors see in the admin."""

    default = False
    verbose_name = gettext_lazy("Two-factor sign-in")
