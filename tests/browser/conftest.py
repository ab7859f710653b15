"""Playwright fixtures: Debian's Chromium driven headless against pytest-django's live server.

No ``playwright install``: the browser is the system's ``/usr/bin/chromium`` (``scripts/test.sh``
installs it with apt-get when it is missing). Every wait is bounded so a broken page fails
within seconds instead of hanging the suite.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
TIMEOUT_MS = 15_000
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
PASSWORD = "pass-word-123"  # tests.factories.UserFactory

expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for this module's tests.

    While Playwright's sync API is started it marks its asyncio event loop as running in
    this thread, and Django then refuses ORM calls (factories, assertions) from the test:
    DJANGO_ALLOW_ASYNC_UNSAFE allows them. It is set only while the browser runs (module
    scope), so other tests on the same xdist worker keep Django's async-safety check, and
    subprocesses they start (``check --deploy`` refuses the variable) do not inherit it.
    """
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install chromium"
    with pytest.MonkeyPatch.context() as env, sync_playwright() as playwright:
        env.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=30_000
        )
        yield browser
        browser.close()


@pytest.fixture
def new_context(browser: Browser, live_server):
    """A factory of fresh browser contexts (one per user), closed after the test."""
    contexts: list[BrowserContext] = []

    def make() -> BrowserContext:
        context = browser.new_context(
            base_url=live_server.url,
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            viewport={"width": 1366, "height": 900},
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def login(new_context):
    """``login(user)`` → a page of a new context, signed in as that user and on their home."""

    def sign_in(user) -> Page:
        page = new_context().new_page()
        page.goto("/accounts/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name="登录").click()
        assert "/accounts/login/" not in page.url, page.inner_text("body")
        return page

    return sign_in


@pytest.fixture
def screenshot():
    """``screenshot(page, "name")`` saves a full-page PNG as build/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def save(page: Page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


@pytest.fixture
def broker_down(monkeypatch, settings, tmp_path):
    """Celery with a broker that does not answer: queued jobs wait (their outbox messages
    stay pending) until the test plays the worker. Job files go to a temporary MEDIA_ROOT."""
    from gonghui.celery import app

    settings.MEDIA_ROOT = tmp_path / "media"
    for name, value in (
        ("task_always_eager", False),
        ("broker_url", "redis://127.0.0.1:1/0"),
        ("broker_write_url", "redis://127.0.0.1:1/0"),
    ):
        monkeypatch.setitem(app.conf, name, value)
        monkeypatch.setitem(app.conf, f"CELERY_{name.upper()}", value)
