import pytest


@pytest.fixture
def broker_down(celery_conf):
    """A broker that refuses connections (a closed port), and no eager fallback."""
    celery_conf(broker_url="redis://127.0.0.1:1/0", task_always_eager=False)
