"""The city staff's audit search page (``/audit/``): every write, filtered and paginated.

Read-only by construction: the view answers GET only, and nothing in the application writes
to a historical table except django-simple-history itself.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.views.generic import TemplateView

from accounts.audit import (
    AUDITED,
    HISTORY_TYPES,
    decorate,
    personal_data_access,
    search_history,
)
from accounts.choices import Role
from accounts.permissions import PortalView
from gonghui.errors import DomainError
from gonghui.inputs import FieldErrors, parse_count, parse_date

PAGE_SIZE = 50


def _filters(params) -> tuple[dict, dict[str, list[str]]]:
    """The search filters from the query string, and a message per field it refused."""
    errors = FieldErrors()
    filters: dict = {}
    kind = params.get("kind", "")
    if kind:
        if kind in AUDITED:
            filters["kind"] = kind
        else:
            errors.add("kind", "记录类型无效")
    record_id = params.get("record_id", "").strip()
    if record_id:
        filters["record_id"] = errors.attempt(
            "record_id", lambda: parse_count(record_id, field="record_id", label="记录编号")
        )
    username = params.get("user", "").strip()
    if username:
        user = get_user_model().objects.filter(username=username).only("pk").first()
        if user is None:
            errors.add("user", f"没有用户名为“{username}”的用户")
        else:
            filters["user_id"] = user.pk
    for name, label in (("date_from", "起始日期"), ("date_to", "截止日期")):
        value = params.get(name, "").strip()
        if value:
            filters[name] = errors.attempt(
                name, lambda v=value, n=name, lb=label: parse_date(v, field=n, label=lb)
            )
    date_from, date_to = filters.get("date_from"), filters.get("date_to")
    if date_from and date_to and date_from > date_to:
        errors.add("date_to", "截止日期不能早于起始日期")
    history_type = params.get("type", "")
    if history_type:
        if history_type in HISTORY_TYPES:
            filters["history_type"] = history_type
        else:
            errors.add("type", "变更类型无效")
    return filters, errors.errors


class AuditSearchView(PortalView, TemplateView):
    """Search the audit trail: city staff only (every other role gets 403)."""

    allowed_roles = frozenset({Role.CITY_STAFF})
    http_method_names = ["get", "head", "options"]
    template_name = "accounts/audit_search.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        params = self.request.GET
        filters, errors = _filters(params)
        page = None
        access = None
        if not errors:
            access = personal_data_access(
                **{k: filters[k] for k in ("user_id", "date_from", "date_to") if k in filters}
            )
            try:
                paginator = Paginator(search_history(**filters), PAGE_SIZE)
                page = paginator.get_page(params.get("page"))
                page.object_list = decorate(list(page.object_list))
            except DomainError as error:  # pragma: no cover - every input is parsed above
                errors = {"": [error.message]}
        query = params.copy()
        query.pop("page", None)
        context.update(
            page_title="修改记录查询",
            page=page,
            personal_data_access=access,
            errors=errors,
            query=query.urlencode(),
            kinds=[(key, model._meta.verbose_name) for key, (model, _, _) in AUDITED.items()],
            types=list(HISTORY_TYPES.items()),
            values={
                name: params.get(name, "")
                for name in ("kind", "record_id", "user", "date_from", "date_to", "type")
            },
        )
        return context
