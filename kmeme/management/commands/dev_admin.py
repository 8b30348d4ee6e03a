import os
import secrets
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from accounts.models import Role, User
from accounts.services import user_create, user_password_set


class Command(BaseCommand):
    help = "Create (once) the local development admin and print its login. Refuses to run with DEBUG off."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--password-file",
            default=str(settings.BASE_DIR / ".local" / "dev-admin-password"),
            help="Where the generated password is kept between runs (git-ignored).",
        )

    def handle(self, *args, password_file: str, **options) -> None:
        if not settings.DEBUG:
            raise CommandError(_("dev_admin only runs in development (DJANGO_DEBUG=true)."))
        path = Path(password_file)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(12) + "\n")
            path.chmod(0o600)
        password = path.read_text().strip()
        email = settings.DEV_ADMIN_EMAIL
        user = User.objects.filter(email=email).first()
        if user is None:
            user = user_create(email=email, password=password, role=Role.ADMIN, display_name="Dev Admin")
        elif not user.check_password(password):
            user_password_set(user=user, password=password, actor=None)
        port = os.environ.get("KMEME_PORT", "8000")  # where make run serves the site
        self.stdout.write(
            _("Admin login: %(email)s / %(password)s  (http://127.0.0.1:%(port)s/admin/)")
            % {"email": email, "password": password, "port": port}
        )
