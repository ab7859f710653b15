"""The settings module read from the environment: secrets, defaults and deploy checks.

Each variant of the environment is loaded in a fresh interpreter with ``gonghui.settings``
and an explicit environment, so neither the test run's own variables (CI's DATABASE_URL and
REDIS_URL, the DEBUG and SECRET_KEY that ``settings_test`` sets) nor a developer's ``.env``
file leak into what is being tested.
"""

import json
import os
import re
import secrets
import string
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent

# Every variable that gonghui/settings.py reads; each is removed before a variant is loaded.
SETTINGS_VARIABLES = [
    "DEBUG",
    "SECRET_KEY",
    "FIELD_ENCRYPTION_KEY",
    "PII_HASH_KEY",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "DATABASE_URL",
    "CONN_MAX_AGE",
    "REDIS_URL",
    "CELERY_VISIBILITY_TIMEOUT",
    "IMPORT_TIME_LIMIT",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "EMAIL_URL",
    "DEFAULT_FROM_EMAIL",
    "PORTAL_BASE_URL",
    "MEDIA_ROOT",
    "LOG_LEVEL",
]

# Runs first in every subprocess: settings.py reads the project's .env when there is one;
# skip that so a developer's .env cannot change the result.
IGNORE_DOTENV = "import environ; environ.Env.read_env = classmethod(lambda cls, *a, **k: None)"


def _random_secret(length: int = 50) -> str:
    alphabet = string.ascii_letters + string.digits + "!@#%^&*(-_=+)"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _environment(**variables: str) -> dict[str, str]:
    """The current environment without any settings variable, plus ``variables``."""
    env = os.environ.copy()
    for name in [*SETTINGS_VARIABLES, "DJANGO_SETTINGS_MODULE"]:
        env.pop(name, None)
    env["DJANGO_SETTINGS_MODULE"] = "gonghui.settings"
    env.update(variables)
    return env


def _pii_keys() -> dict[str, str]:
    """Fresh production values of the two personal-data keys (gonghui/pii.py)."""
    return {
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "PII_HASH_KEY": secrets.token_urlsafe(40),
    }


def _python(code: str, **variables: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", f"{IGNORE_DOTENV}\n{code}"],
        cwd=ROOT,
        env=_environment(**variables),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _load_settings(**variables: str) -> dict:
    """Selected settings values as the production settings module computes them."""
    code = """
import json
from django.conf import settings
from gonghui.celery import app
database = settings.DATABASES["default"]
print(json.dumps({
    "engine": database["ENGINE"],
    "name": str(database["NAME"]),
    "host": database.get("HOST", ""),
    "conn_max_age": database["CONN_MAX_AGE"],
    "always_eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "broker_url": settings.CELERY_BROKER_URL,
    "result_backend": settings.CELERY_RESULT_BACKEND,
    "app_broker_url": app.conf.broker_url,
    "app_always_eager": app.conf.task_always_eager,
}))
"""
    result = _python(code, **variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("debug", [None, "0"])
def test_missing_secret_key_without_debug_stops_startup(debug):
    variables = {} if debug is None else {"DEBUG": debug}
    result = _python("import django; django.setup()", **variables)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


def test_empty_secret_key_without_debug_stops_startup():
    result = _python("import django; django.setup()", DEBUG="0", SECRET_KEY="")

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_debug_runs_without_secret_key():
    result = _python("import django; django.setup()", DEBUG="1")

    assert result.returncode == 0, result.stderr


def test_production_settings_pass_the_deploy_check():
    code = (
        "import runpy, sys\n"
        "sys.argv = ['manage.py', 'check', '--deploy', '--fail-level', 'WARNING']\n"
        "runpy.run_path('manage.py', run_name='__main__')"
    )
    result = _python(
        code,
        DEBUG="0",
        SECRET_KEY=_random_secret(),
        ALLOWED_HOSTS="example.org",
        **_pii_keys(),
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_locale_and_time_zone():
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert settings.TIME_ZONE == "Asia/Shanghai"
    assert settings.USE_TZ is True


def test_without_database_url_the_database_is_the_sqlite_file():
    values = _load_settings(DEBUG="1")

    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["name"] == str(ROOT / "db.sqlite3")


def test_database_url_selects_postgresql():
    values = _load_settings(DEBUG="1", DATABASE_URL="postgres://u@h:5432/d", CONN_MAX_AGE="60")

    assert values["engine"] == "django.db.backends.postgresql"
    assert values["name"] == "d"
    assert values["host"] == "h"
    assert values["conn_max_age"] == 60


def test_without_redis_url_celery_runs_tasks_in_process():
    values = _load_settings(DEBUG="1")

    assert values["always_eager"] is True
    assert values["app_always_eager"] is True


def test_redis_url_is_the_celery_broker_and_result_store():
    url = "redis://127.0.0.1:6379/3"
    values = _load_settings(DEBUG="1", REDIS_URL=url)

    assert values["always_eager"] is False
    assert values["app_always_eager"] is False
    assert values["broker_url"] == url
    assert values["app_broker_url"] == url
    assert values["result_backend"] == url


def test_every_settings_variable_is_documented():
    """.env.example and the README table name every variable that settings.py reads."""
    source = (ROOT / "gonghui" / "settings.py").read_text(encoding="utf-8")
    read = set(re.findall(r"env(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]*)\"", source))
    assert read == set(SETTINGS_VARIABLES)

    env_example = (ROOT / ".env.example").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in sorted(read):
        assert re.search(rf"^#?\s*{name}=", env_example, re.MULTILINE), (
            f"{name} not in .env.example"
        )
        assert f"| `{name}` |" in readme, f"{name} not in the README table"


def test_beat_schedule_names_registered_tasks():
    """Every scheduled job points at a task the Celery app knows."""
    from django.conf import settings

    from gonghui.celery import app

    app.loader.import_default_modules()
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, name


@pytest.mark.parametrize("missing", ["FIELD_ENCRYPTION_KEY", "PII_HASH_KEY"])
def test_missing_personal_data_key_without_debug_stops_startup(missing):
    variables = {"DEBUG": "0", "SECRET_KEY": _random_secret(), **_pii_keys()}
    del variables[missing]
    result = _python("import django; django.setup()", **variables)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert missing in result.stderr


def test_a_field_encryption_key_that_is_not_a_fernet_key_stops_startup():
    variables = {"DEBUG": "0", "SECRET_KEY": _random_secret(), **_pii_keys()}
    variables["FIELD_ENCRYPTION_KEY"] = "not-a-fernet-key"
    result = _python("import django; django.setup()", **variables)

    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEY must be" in result.stderr


def test_debug_runs_without_personal_data_keys():
    code = "import django; django.setup()\nfrom django.conf import settings\n"
    code += "print(len(settings.FIELD_ENCRYPTION_KEY), bool(settings.PII_HASH_KEY))"
    result = _python(code, DEBUG="1")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "True"]
