"""Roles and scope: one place decides what each role sees, for every scoped model."""

import pytest
from django.contrib.auth.models import Group

from accounts.choices import Role
from accounts.models import Profile
from accounts.scoping import in_scope, restrict, role_of
from accounts.services import assign_role
from gonghui.errors import DomainError
from loans.choices import ApplicationStatus as S
from loans.models import Applicant, Application, EligibilityCheck, Loan
from loans.services.eligibility import store_pre_loan_checks
from quotas.models import Quota
from tests.factories import ApplicationFactory, LoanFactory, QuotaFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(program, unit, other_unit, bank, other_bank):
    mine = ApplicationFactory(program=program, unit=unit, bank=bank, status=S.DISBURSED)
    theirs = ApplicationFactory(program=program, unit=other_unit, bank=other_bank)
    loan_mine = LoanFactory(application=mine)
    loan_theirs = LoanFactory(
        application=ApplicationFactory(program=program, unit=other_unit, bank=other_bank)
    )
    for application in (mine, theirs):
        store_pre_loan_checks(application)
    QuotaFactory(program=program, unit=unit)
    QuotaFactory(program=program, unit=other_unit)
    return {"mine": mine, "theirs": theirs, "loan_mine": loan_mine, "loan_theirs": loan_theirs}


def test_county_staff_see_only_their_unit(world, county_user, unit):
    assert set(restrict(Application.objects.all(), county_user)) == {world["mine"]}
    assert set(restrict(Loan.objects.all(), county_user)) == {world["loan_mine"]}
    assert {q.unit for q in restrict(Quota.objects.all(), county_user)} == {unit}
    assert set(restrict(Applicant.objects.all(), county_user)) == {world["mine"].applicant}
    checks = restrict(EligibilityCheck.objects.all(), county_user)
    assert {c.application for c in checks} == {world["mine"]}
    assert in_scope(county_user, world["mine"])
    assert not in_scope(county_user, world["theirs"])
    assert not in_scope(county_user, world["loan_theirs"])


def test_bank_officers_see_only_their_bank(world, bank_user):
    assert set(restrict(Application.objects.all(), bank_user)) == {world["mine"]}
    assert set(restrict(Loan.objects.all(), bank_user)) == {world["loan_mine"]}
    assert in_scope(bank_user, world["loan_mine"])
    assert not in_scope(bank_user, world["loan_theirs"])
    assert not in_scope(bank_user, world["theirs"].applicant)
    # Quotas are not a bank's record: banks read all of them.
    assert restrict(Quota.objects.all(), bank_user).count() == 2


@pytest.mark.parametrize("who", ["city_user", "manager_user"])
def test_city_staff_and_managers_see_everything(world, request, who):
    user = request.getfixturevalue(who)
    assert restrict(Application.objects.all(), user).count() == Application.objects.count()
    assert restrict(Loan.objects.all(), user).count() == 2
    assert in_scope(user, world["theirs"])


def test_users_without_a_role_and_anonymous_users_see_nothing(world, django_user_model):
    from django.contrib.auth.models import AnonymousUser

    nobody = django_user_model.objects.create_user("nobody", password="x-pass-123")
    for user in (nobody, AnonymousUser()):
        assert role_of(user) is None
        assert not restrict(Application.objects.all(), user).exists()
        assert not in_scope(user, world["mine"])


def test_superuser_without_profile_acts_as_city_staff(world, django_user_model):
    admin = django_user_model.objects.create_superuser("root", password="x-pass-123")
    assert role_of(admin) == Role.CITY_STAFF
    assert restrict(Application.objects.all(), admin).count() == Application.objects.count()


def test_role_assignment_validates_the_scope(unit, bank):
    user = UserFactory()
    with pytest.raises(DomainError):
        assign_role(user=user, role=Role.COUNTY_STAFF)
    with pytest.raises(DomainError):
        assign_role(user=user, role=Role.BANK_OFFICER, unit=unit)
    with pytest.raises(DomainError):
        assign_role(user=user, role=Role.CITY_STAFF, bank=bank)
    assert not hasattr(user, "profile") or user.profile is None


def test_role_group_follows_the_role(unit, bank):
    user = UserFactory()
    assign_role(user=user, role=Role.COUNTY_STAFF, unit=unit)
    assert list(user.groups.values_list("name", flat=True)) == [Role.COUNTY_STAFF.label]
    assign_role(user=user, role=Role.BANK_OFFICER, bank=bank)
    assert list(user.groups.values_list("name", flat=True)) == [Role.BANK_OFFICER.label]
    # Editing the profile directly (e.g. in the admin) keeps the group in step too.
    profile = Profile.objects.get(user=user)
    profile.role, profile.bank = Role.MANAGER, None
    profile.save()
    assert list(user.groups.values_list("name", flat=True)) == [Role.MANAGER.label]


def test_role_groups_carry_the_expected_permissions(db):
    def codes(role):
        group = Group.objects.get(name=role.label)
        return set(group.permissions.values_list("codename", flat=True))

    # Only city staff change anything through model permissions; the other roles read,
    # and their operational writes go through the services.
    for role in (Role.COUNTY_STAFF, Role.BANK_OFFICER, Role.MANAGER):
        role_codes = codes(role)
        assert role_codes and all(c.startswith("view_") for c in role_codes), role
    assert {"view_application", "view_loan", "view_followup", "view_quota"} <= codes(
        Role.COUNTY_STAFF
    )
    assert {"view_application", "view_loan", "view_repayment", "view_quota"} <= codes(
        Role.BANK_OFFICER
    )
    city_codes = codes(Role.CITY_STAFF)
    for model in ("program", "unit", "bank", "applicant", "enterprise", "quota", "loan"):
        assert {f"view_{model}", f"add_{model}", f"change_{model}"} <= city_codes
    assert not any(c.startswith("delete_") for role in Role for c in codes(role))


def test_admin_changelist_is_scoped_for_county_staff(world, client, county_user):
    client.force_login(county_user)
    response = client.get("/admin/loans/application/")
    assert response.status_code == 200
    assert world["mine"].reference in response.content.decode()
    assert world["theirs"].reference not in response.content.decode()
    other = client.get(f"/admin/loans/application/{world['theirs'].pk}/change/")
    assert other.status_code in (302, 404)


def test_reference_data_is_public_and_unlisted_models_are_hidden(county_user, bank_user, program):
    from django.contrib.auth.models import Group

    from loans.models import Program

    assert list(restrict(Program.objects.all(), county_user)) == [program]
    assert list(restrict(Program.objects.all(), bank_user)) == [program]
    # Group is not in the scope table: scoped roles see none of it, city staff all of it.
    assert not restrict(Group.objects.all(), county_user).exists()
    assert not restrict(Group.objects.all(), bank_user).exists()


def test_profiles_are_scoped_like_their_unit_and_bank(county_user, other_county_user, city_user):
    profiles = restrict(Profile.objects.all(), county_user)
    assert [p.user for p in profiles] == [county_user]
    assert restrict(Profile.objects.all(), city_user).count() == Profile.objects.count()
