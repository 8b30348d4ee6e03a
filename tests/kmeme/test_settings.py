"""Production mode refuses half-configured environments and passes Django's deploy checks."""

import os
import subprocess
import sys

from django.conf import settings

PRODUCTION_ENV = {
    "DJANGO_DEBUG": "false",
    "SECRET_KEY": "k" * 20 + "-production-secret-with-enough-entropy-0123456789",
    "ALLOWED_HOSTS": "kmeme.example.com",
    "DATABASE_URL": "postgis://kmeme:secret@db.internal:5432/kmeme",
    "REDIS_URL": "redis://cache.internal:6379/0",
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    ignored = {
        *PRODUCTION_ENV,
        "DJANGO_SETTINGS_MODULE",
        "SENTRY_DSN",
        "AWS_STORAGE_BUCKET_NAME",
        "FIREBASE_AUTH_EMULATOR_HOST",
        "ADMIN_REQUIRE_2FA",
    }
    clean = {k: v for k, v in os.environ.items() if k not in ignored}
    return subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_without_secret_key_fails_with_a_clear_message():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "needs these environment variables: SECRET_KEY" in result.stderr


def test_production_names_every_missing_variable():
    result = _manage("check", env={"DJANGO_DEBUG": "false"})
    assert result.returncode != 0
    assert "SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL" in result.stderr


def test_complete_production_environment_passes_check_deploy_with_zero_warnings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues" in result.stdout


def test_development_defaults_need_no_environment_at_all():
    result = _manage("check", env={})
    assert result.returncode == 0, result.stderr


def test_sentry_is_on_with_a_dsn_sampling_ten_percent_without_personal_data():
    probe = (
        "import sentry_sdk; c = sentry_sdk.get_client();"
        "print(c.is_active(), c.options['traces_sample_rate'], c.options['send_default_pii'], "
        "c.options['before_send'].__name__)"
    )
    result = _manage("shell", "-c", probe, env={"SENTRY_DSN": "http://public@127.0.0.1:9/1"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-4:] == ["True", "0.1", "False", "sentry_before_send"]


def test_sentry_is_off_without_a_dsn():
    result = _manage("shell", "-c", "import sentry_sdk; print(sentry_sdk.get_client().is_active())", env={})
    assert result.stdout.split()[-1] == "False"


def test_s3_media_is_switched_on_by_its_bucket_and_refuses_half_a_configuration():
    probe = "from django.conf import settings; print(settings.STORAGES['default']['BACKEND'])"
    half = _manage("shell", "-c", probe, env={"AWS_STORAGE_BUCKET_NAME": "kmeme-media"})
    assert half.returncode != 0
    assert "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_S3_REGION_NAME" in half.stderr
    full = _manage(
        "shell",
        "-c",
        probe,
        env={
            "AWS_STORAGE_BUCKET_NAME": "kmeme-media",
            "AWS_ACCESS_KEY_ID": "k",
            "AWS_SECRET_ACCESS_KEY": "s",
            "AWS_S3_REGION_NAME": "ap-northeast-2",
        },
    )
    assert full.stdout.split()[-1] == "storages.backends.s3.S3Storage", full.stderr
    assert _manage("shell", "-c", probe, env={}).stdout.split()[-1].endswith("FileSystemStorage")


def test_production_refuses_the_firebase_emulator():
    result = _manage("check", env={**PRODUCTION_ENV, "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099"})
    assert result.returncode != 0 and "emulator mode accepts unsigned tokens" in result.stderr


def test_production_requires_a_second_factor_for_the_admin_even_from_an_empty_env_line():
    probe = "from django.conf import settings; print(settings.ADMIN_REQUIRE_2FA)"

    def required(env: dict[str, str]) -> str:
        result = _manage("shell", "-c", probe, env=env)
        assert result.returncode == 0, result.stderr
        return result.stdout.split()[-1]

    assert required(PRODUCTION_ENV) == "True"
    assert required({**PRODUCTION_ENV, "ADMIN_REQUIRE_2FA": ""}) == "True"  # as in a .env copied from .env.example
    assert required({**PRODUCTION_ENV, "ADMIN_REQUIRE_2FA": "false"}) == "False"  # switched off on purpose
    assert required({}) == "False"  # development: make run's printed login works at once
    assert _manage("check", env={"ADMIN_REQUIRE_2FA": "maybe"}).returncode != 0


def test_a_stalled_job_threshold_shorter_than_three_heartbeats_is_refused():
    """Too short, and the sweep would start a live worker's job a second time."""
    result = _manage("check", env={"JOB_HEARTBEAT_S": "10", "JOB_STALLED_AFTER_S": "20"})
    assert result.returncode != 0
    assert "JOB_STALLED_AFTER_S (20) must be at least three heartbeats" in result.stderr
