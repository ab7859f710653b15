"""Navigation and identity shown on every portal page, by role."""

from django.urls import NoReverseMatch, reverse

from accounts.choices import Role
from accounts.scoping import profile_of, role_of

# (label, url name, roles)
NAV = (
    ("工作台", "home", {Role.COUNTY_STAFF, Role.CITY_STAFF, Role.BANK_OFFICER}),
    ("统计看板", "reports:dashboard", {Role.MANAGER, Role.CITY_STAFF, Role.COUNTY_STAFF}),
    ("贷款申请", "loans:application-list", set(Role.values)),
    ("录入申请", "loans:application-create", {Role.COUNTY_STAFF, Role.CITY_STAFF}),
    ("贷款管理", "loans:loan-list", set(Role.values)),
    ("贷后跟踪", "loans:follow-ups-due", {Role.COUNTY_STAFF, Role.CITY_STAFF}),
    ("任务完成", "quotas:quota-list", {Role.MANAGER, Role.CITY_STAFF, Role.COUNTY_STAFF}),
    ("贴息台账", "subsidies:claim-ledger", set(Role.values)),
    ("支付批次", "subsidies:batch-list", {Role.MANAGER, Role.CITY_STAFF}),
    ("补助分配", "subsidies:allocation", {Role.MANAGER, Role.CITY_STAFF}),
    ("月度统计", "reports:monthly", {Role.MANAGER, Role.CITY_STAFF, Role.COUNTY_STAFF}),
    ("公示名单", "reports:announcement", {Role.MANAGER, Role.CITY_STAFF}),
    ("我的导出", "reports:exports", set(Role.values)),
    ("年度分析", "reports:annual", {Role.MANAGER, Role.CITY_STAFF, Role.COUNTY_STAFF}),
    ("批量导入", "loans:import", {Role.CITY_STAFF}),
    ("修改记录", "audit", {Role.CITY_STAFF}),
)


def portal(request):
    user = getattr(request, "user", None)
    role = role_of(user)
    if role is None:
        return {}
    profile = profile_of(user)
    scope = ""
    if profile is not None and profile.unit_id:
        scope = str(profile.unit)
    elif profile is not None and profile.bank_id:
        scope = str(profile.bank)
    items = []
    for label, name, roles in NAV:
        if role not in roles:
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:  # a page of a later issue may not be routed yet
            continue
        items.append({"label": label, "url": url, "active": False})
    # Highlight the most specific link the current page lies under.
    matching = [
        item
        for item in items
        if request.path == item["url"]
        or (item["url"] != "/" and request.path.startswith(item["url"]))
    ]
    if matching:
        max(matching, key=lambda item: len(item["url"]))["active"] = True
    if user.is_staff:
        items.append({"label": "系统管理", "url": reverse("admin:index"), "active": False})
    return {
        "portal_role": role,
        "portal_role_label": Role(role).label,
        "portal_scope": scope,
        "portal_nav": items,
    }
