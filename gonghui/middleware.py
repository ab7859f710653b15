"""Middleware of the portal's own: session time limits, no caching of pages, database down.

* :class:`SessionTimeoutMiddleware` signs a user out after ``SESSION_IDLE_TIMEOUT`` without a
  request and after ``SESSION_ABSOLUTE_TIMEOUT`` from the login, however active.
* :class:`NoStoreMiddleware` marks every page and API response the application builds
  ``Cache-Control: no-store``: nearly all of them show applicants' names, ID numbers and
  loans, so no browser or proxy may keep a copy (static files are served before it).
* :class:`DatabaseUnavailableMiddleware` and :func:`server_error` answer a request that
  failed because the database is unreachable with a plain 503: a static HTML page that needs
  no database (nor templates, nor the session) or, under /api/, the API's JSON error shape.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.db import InterfaceError, OperationalError
from django.dispatch import receiver
from django.http import HttpResponse, JsonResponse
from django.utils.cache import patch_cache_control
from django.views import defaults

logger = logging.getLogger(__name__)

SESSION_STARTED_KEY = "_gonghui_session_started"
SESSION_ACTIVITY_KEY = "_gonghui_last_activity"
# The last-activity time is rewritten at most this often, not on every request.
ACTIVITY_RESOLUTION_SECONDS = 30

DATABASE_ERRORS = (OperationalError, InterfaceError)
UNAVAILABLE_PAGE = Path(settings.BASE_DIR) / "templates" / "503.html"
UNAVAILABLE_MESSAGE = "系统数据库暂时无法连接，请稍后再试"
RETRY_AFTER_SECONDS = 30


def _now() -> float:
    """The current time in seconds (a function of its own so that tests can move it)."""
    return time.time()


# --- session time limits ---------------------------------------------------------------------


@receiver(user_logged_in, dispatch_uid="gonghui-session-started")
def _mark_session_start(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        now = _now()
        request.session[SESSION_STARTED_KEY] = now
        request.session[SESSION_ACTIVITY_KEY] = now


def session_expired(session, now: float) -> str | None:
    """Why this session is over ("idle" or "absolute"), or None while it is still valid."""
    started = session.get(SESSION_STARTED_KEY)
    last = session.get(SESSION_ACTIVITY_KEY)
    if started is not None and now - started > settings.SESSION_ABSOLUTE_TIMEOUT.total_seconds():
        return "absolute"
    if last is not None and now - last > settings.SESSION_IDLE_TIMEOUT.total_seconds():
        return "idle"
    return None


class SessionTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = _now()
            session = request.session
            reason = session_expired(session, now)
            if reason:
                logger.info("session of %s ended (%s timeout)", user.get_username(), reason)
                logout(request)
                messages.info(
                    request,
                    "登录已超过最长有效时间，请重新登录"
                    if reason == "absolute"
                    else "长时间未操作，已自动退出，请重新登录",
                )
            else:
                session.setdefault(SESSION_STARTED_KEY, now)
                last = session.get(SESSION_ACTIVITY_KEY)
                if last is None or now - last >= ACTIVITY_RESOLUTION_SECONDS:
                    session[SESSION_ACTIVITY_KEY] = now
        return self.get_response(request)


# --- no caching ------------------------------------------------------------------------------


class NoStoreMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        patch_cache_control(response, no_store=True, private=True)
        return response


# --- database down ---------------------------------------------------------------------------


def _unavailable_html() -> bytes:
    try:
        return UNAVAILABLE_PAGE.read_bytes()
    except OSError:  # the page itself missing must not turn a 503 into a 500
        return f"<!DOCTYPE html><title>503</title><p>{UNAVAILABLE_MESSAGE}</p>".encode()


def database_unavailable_response(request) -> HttpResponse:
    """503 for a request that the database failed: JSON under /api/, a static page elsewhere."""
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {"code": "service_unavailable", "message": UNAVAILABLE_MESSAGE, "fields": {}},
            status=503,
            json_dumps_params={"ensure_ascii": False},
        )
    else:
        response = HttpResponse(
            _unavailable_html(), status=503, content_type="text/html; charset=utf-8"
        )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    patch_cache_control(response, no_store=True)
    return response


class DatabaseUnavailableMiddleware:
    """A view (or the API) that raised a database connection error gets the plain 503."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DATABASE_ERRORS):
            logger.error("database unavailable: %s", exception)
            return database_unavailable_response(request)
        return None


def server_error(request, *args, **kwargs):
    """handler500: the plain 503 when the error was the database, else Django's own 500.

    Middleware that talks to the database itself (sessions, authentication, lockout) fails
    outside the view, where :class:`DatabaseUnavailableMiddleware` cannot see it; Django then
    calls this handler while the exception is still being handled.
    """
    error = sys.exc_info()[1]
    if isinstance(error, DATABASE_ERRORS):
        return database_unavailable_response(request)
    return defaults.server_error(request, *args, **kwargs)


ID_IN_URL_MESSAGE = (
    "完整身份证号不得放在网址中：按身份证号查询请用 POST /api/v1/applications/search/ "
    "或 /api/v1/loans/search/，条件放在请求体中"
)


class ApiResidentIdMiddleware:
    """Refuse (400) an API request with a whole resident ID in its query string.

    A URL is written down by every access log and proxy on its way, so an ID there is
    personal data leaked; refusing every such request — whichever parameter, whichever
    endpoint — teaches a bank's client to send it in a body (``POST …/search/``) instead.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/") and request.GET:
            from gonghui.api import error_body
            from loans.filters import whole_resident_id

            names = sorted(
                {
                    name
                    for name, values in request.GET.lists()
                    if any(whole_resident_id(value) for value in values)
                }
            )
            if names:
                body = error_body(
                    "id_in_url", ID_IN_URL_MESSAGE, {name: [ID_IN_URL_MESSAGE] for name in names}
                )
                return JsonResponse(body, status=400)
        return self.get_response(request)
