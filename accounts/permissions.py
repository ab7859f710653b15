"""The portal pages' one gate: who may open a page, and which rows they may reach.

Every portal view inherits :class:`PortalView` (role check) and fetches rows through
:func:`scoped_get_or_404`, which applies ``accounts.scoping.restrict``: a county clerk asking
for another unit's application, loan or quota gets 404, exactly as the API answers.
"""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.choices import Role
from accounts.scoping import restrict, role_of

ALL_ROLES = frozenset(Role.values)
UNION_STAFF = frozenset({Role.COUNTY_STAFF, Role.CITY_STAFF})


class PortalView(LoginRequiredMixin):
    """A page for signed-in users of the listed roles (all portal roles by default)."""

    allowed_roles: frozenset[str] = ALL_ROLES

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.role = role_of(request.user)
        if self.role not in self.allowed_roles:
            raise PermissionDenied("您的角色无权访问该页面")
        return super().dispatch(request, *args, **kwargs)


def scoped_get_or_404(queryset: QuerySet, user, **lookup):
    """The row matching ``lookup`` among those the user may see, or 404."""
    return get_object_or_404(restrict(queryset, user), **lookup)


def safe_next(request, fallback: str) -> str:
    """The ``next`` target if it stays on this site, otherwise ``fallback``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def int_ids(values) -> list[int]:
    """The whole numbers among submitted ids; anything else is ignored, never a 500."""
    return [int(v) for v in values if str(v).isascii() and str(v).isdigit()]


def int_id(value) -> int | None:
    ids = int_ids([value]) if value not in (None, "") else []
    return ids[0] if ids else None
