import pytest

from gonghui.celery import app


@pytest.fixture
def celery_conf(monkeypatch):
    """Change the Celery app's configuration for one test (restored afterwards)."""

    def change(**values):
        if "broker_url" in values:  # Celery resolved the write URL from it at start-up
            values["broker_write_url"] = values["broker_url"]
        for name, value in values.items():
            # The app reads Django's CELERY_* names first: set both spellings.
            monkeypatch.setitem(app.conf, name, value)
            monkeypatch.setitem(app.conf, f"CELERY_{name.upper()}", value)

    return change


@pytest.fixture
def eager(celery_conf):
    """No broker: outbox messages run in-process on commit (the SQLite quick start)."""
    celery_conf(task_always_eager=True)


@pytest.fixture
def broker_down(celery_conf):
    """A broker that refuses connections (a closed port), and no eager fallback."""
    celery_conf(broker_url="redis://127.0.0.1:1/0", task_always_eager=False)
