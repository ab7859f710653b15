"""Production settings for the load test, plus the bare baseline endpoint's URLconf."""

from gonghui.settings import *  # noqa: F403

ROOT_URLCONF = "load_urls"
# The per-bank throttle still runs (its cost is part of every request) but at a rate the load
# cannot reach, so the figures show the server, not the configured quota.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {"bank": "1000000/min", "user": "1000000/min", "anon": "1000000/min"},
}
