"""Test runs: the one settings module, with development defaults for what tests leave unset.

DATABASE_URL and REDIS_URL are still read from the environment, so the same suite runs on
SQLite locally and on PostgreSQL + Redis in CI.
"""

import os

os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production")

from .settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
