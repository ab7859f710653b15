"""The home page: each role lands on its own work queue."""

from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.views.generic import TemplateView

from accounts.choices import Role
from accounts.permissions import PortalView
from loans.choices import ApplicationStatus as S
from loans.selectors import application_list, loan_list, reminders_for

# What waits on each role's hands on the home queue.
QUEUE_STATUSES = {
    Role.COUNTY_STAFF: (S.DRAFT, S.RETURNED, S.SUBMITTED, S.CONSENT_REQUESTED),
    Role.CITY_STAFF: (S.DRAFT, S.RETURNED, S.SUBMITTED, S.CONSENT_REQUESTED),
    Role.BANK_OFFICER: (S.RECOMMENDED, S.BANK_APPROVED, S.CONSENTED),
}


class HomeView(PortalView, TemplateView):
    template_name = "accounts/home.html"

    def get(self, request, *args, **kwargs):
        if self.role == Role.MANAGER:
            try:
                return redirect(reverse("reports:dashboard"))
            except NoReverseMatch:
                return redirect("loans:application-list")
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        queue = application_list(user).filter(status__in=QUEUE_STATUSES[self.role])
        context.update(
            page_title="工作台",
            reminders=reminders_for(user),
            queue=queue[:20],
            queue_count=queue.count(),
            is_bank=self.role == Role.BANK_OFFICER,
            recent_loans=loan_list(user)[:10] if self.role == Role.BANK_OFFICER else [],
        )
        return context
