"""Who may see what: the one place that scopes querysets and rows to a user's role.

County staff see their own unit's records, bank officers their own bank's, city staff and
managers everything (NetBox's ``restrict(user, action)`` idea). Every view, API endpoint,
admin page and service that reads or acts on a scoped record goes through ``restrict`` or
``in_scope``, so a scope rule is never re-typed per view.
"""

from __future__ import annotations

from functools import reduce

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model, QuerySet

from accounts.choices import Role

# For each scoped model: the lookup path from the model to its Unit and to its Bank.
# ``None`` means that role is not limited on this model (e.g. a bank reads every quota).
# Reference data every role reads is listed in PUBLIC_MODELS; any other model is hidden from
# county staff and bank officers until it is added here, so a new model is never leaked.
PUBLIC_MODELS = frozenset({"loans.program", "loans.bank"})
SCOPE_PATHS: dict[str, dict[str, str | None]] = {
    "accounts.profile": {"unit": "unit", "bank": "bank"},
    "loans.application": {"unit": "unit", "bank": "bank"},
    "loans.loan": {"unit": "unit", "bank": "bank"},
    "loans.repayment": {"unit": "loan__unit", "bank": "loan__bank"},
    "loans.followup": {"unit": "loan__unit", "bank": "loan__bank"},
    "loans.opinion": {"unit": "application__unit", "bank": "application__bank"},
    "loans.eligibilitycheck": {"unit": "application__unit", "bank": "application__bank"},
    "loans.applicationevent": {"unit": "application__unit", "bank": "application__bank"},
    "loans.applicant": {"unit": "applications__unit", "bank": "applications__bank"},
    "loans.enterprise": {"unit": "applications__unit", "bank": "applications__bank"},
    "loans.unit": {"unit": "", "bank": None},
    "loans.webhookdelivery": {"unit": "unit", "bank": "bank"},
    "loans.webhookattempt": {"unit": "delivery__unit", "bank": "delivery__bank"},
    "loans.apiauditentry": {"unit": "unit", "bank": "bank"},
    "quotas.quota": {"unit": "unit", "bank": None},
    "quotas.reallocation": {"unit": None, "bank": None},
    "subsidies.subsidyclaim": {"unit": "unit", "bank": "bank"},
}

UNSCOPED_ROLES = frozenset({Role.CITY_STAFF, Role.MANAGER})
STAFF_ROLES = frozenset({Role.COUNTY_STAFF, Role.CITY_STAFF})


def profile_of(user):
    """The user's Profile, or None for anonymous users and users without a role."""
    if user is None or not user.is_authenticated:
        return None
    try:
        return user.profile
    except ObjectDoesNotExist:
        return None


def role_of(user) -> str | None:
    """The user's portal role; a superuser without a profile acts as city staff."""
    profile = profile_of(user)
    if profile is not None:
        return profile.role
    if user is not None and user.is_authenticated and user.is_superuser:
        return Role.CITY_STAFF
    return None


def _scope_filter(model: type[Model], user) -> dict | None:
    """The filter kwargs limiting ``model`` to the user's scope; {} for all, None for none."""
    role = role_of(user)
    if role is None:
        return None
    if role in UNSCOPED_ROLES:
        return {}
    label = model._meta.label_lower
    if label in PUBLIC_MODELS:
        return {}
    paths = SCOPE_PATHS.get(label)
    if paths is None:
        return None
    profile = profile_of(user)
    if role == Role.COUNTY_STAFF:
        path, value = paths["unit"], profile.unit_id
    else:
        path, value = paths["bank"], profile.bank_id
    if path is None:
        return {}
    return {f"{path}__pk" if path else "pk": value}


def restrict(queryset: QuerySet, user) -> QuerySet:
    """Limit a queryset of any model to the rows the user may see."""
    kwargs = _scope_filter(queryset.model, user)
    if kwargs is None:
        return queryset.none()
    if not kwargs:
        return queryset
    queryset = queryset.filter(**kwargs)
    # Paths across a reverse relation (applicant → applications) can repeat rows.
    if "applications__" in next(iter(kwargs)):
        queryset = queryset.distinct()
    return queryset


def _resolve_id(obj: Model, path: str):
    """The primary key at the end of ``path`` ("loan__unit" → obj.loan.unit_id)."""
    if not path:
        return obj.pk
    *hops, last = path.split("__")
    owner = reduce(getattr, hops, obj)
    return getattr(owner, f"{last}_id") if owner is not None else None


def in_scope(user, obj: Model) -> bool:
    """Whether the user may see this row; direct paths are read off the row, no query."""
    kwargs = _scope_filter(type(obj), user)
    if kwargs is None:
        return False
    if not kwargs:
        return True
    ((lookup, value),) = kwargs.items()
    if "applications__" in lookup:
        return restrict(type(obj)._default_manager.filter(pk=obj.pk), user).exists()
    path = lookup.removesuffix("pk").removesuffix("__")
    return _resolve_id(obj, path) == value
