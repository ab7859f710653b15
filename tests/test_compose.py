"""docker-compose.yml stays valid and matches the settings the app reads."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_the_five_services_are_defined_with_health_checks_and_volumes():
    services = COMPOSE["services"]
    assert set(services) == {"db", "redis", "web", "worker", "beat"}
    for name in ("db", "redis", "web"):
        assert services[name]["healthcheck"]["test"], name
    assert {"pgdata", "redisdata", "media"} <= set(COMPOSE["volumes"])


def test_app_containers_get_the_variables_the_settings_read():
    settings_source = (ROOT / "gonghui" / "settings.py").read_text(encoding="utf-8")
    for name in ("web", "worker", "beat"):
        env = COMPOSE["services"][name]["environment"]
        for variable in (
            "SECRET_KEY",
            "FIELD_ENCRYPTION_KEY",
            "PII_HASH_KEY",
            "DATABASE_URL",
            "REDIS_URL",
            "ALLOWED_HOSTS",
            "DEBUG",
        ):
            assert variable in env, (name, variable)
            assert f'"{variable}"' in settings_source
        assert env["DEBUG"] == "0"
        assert env["REDIS_URL"].startswith("redis://redis:")
        assert "@db:5432/" in env["DATABASE_URL"]


def test_worker_and_beat_run_the_project_celery_app():
    assert "celery -A gonghui worker" in " ".join(COMPOSE["services"]["worker"]["command"])
    beat = " ".join(COMPOSE["services"]["beat"]["command"])
    assert "celery -A gonghui beat" in beat
    assert "django_celery_beat.schedulers:DatabaseScheduler" in beat


def test_secrets_have_no_default_in_compose():
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    assert re.search(r"SECRET_KEY: \$\{SECRET_KEY:\?", text)
    assert re.search(r"FIELD_ENCRYPTION_KEY: \$\{FIELD_ENCRYPTION_KEY:\?", text)
    assert re.search(r"PII_HASH_KEY: \$\{PII_HASH_KEY:\?", text)
    assert re.search(r"\$\{POSTGRES_PASSWORD:\?", text)
