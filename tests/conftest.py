import pytest

from accounts.choices import Role
from gonghui.celery import app
from tests.factories import BankFactory, ProgramFactory, UnitFactory, make_user


@pytest.fixture
def program(db):
    return ProgramFactory(code="jgd-2020", year=2020)


@pytest.fixture
def unit(db):
    return UnitFactory(code="xiushui", name="修水县")


@pytest.fixture
def other_unit(db):
    return UnitFactory(code="wuning", name="武宁县")


@pytest.fixture
def bank(db):
    return BankFactory(code="jjbank", name="九江银行")


@pytest.fixture
def other_bank(db):
    return BankFactory(code="ccb", name="建设银行九江市分行")


@pytest.fixture
def county_user(unit):
    return make_user(Role.COUNTY_STAFF, unit=unit, username="county")


@pytest.fixture
def other_county_user(other_unit):
    return make_user(Role.COUNTY_STAFF, unit=other_unit, username="county2")


@pytest.fixture
def city_user(db):
    return make_user(Role.CITY_STAFF, username="city")


@pytest.fixture
def bank_user(bank):
    return make_user(Role.BANK_OFFICER, bank=bank, username="banker")


@pytest.fixture
def other_bank_user(other_bank):
    return make_user(Role.BANK_OFFICER, bank=other_bank, username="banker2")


@pytest.fixture
def manager_user(db):
    return make_user(Role.MANAGER, username="manager")


@pytest.fixture
def celery_conf(monkeypatch):
    """Change the Celery app's configuration for one test (restored afterwards)."""

    def change(**values):
        if "broker_url" in values:  # Celery resolved the write URL from it at start-up
            values["broker_write_url"] = values["broker_url"]
        for name, value in values.items():
            # The app reads Django's CELERY_* names first: set both spellings.
            monkeypatch.setitem(app.conf, name, value)
            monkeypatch.setitem(app.conf, f"CELERY_{name.upper()}", value)

    return change


@pytest.fixture
def eager(celery_conf):
    """No broker: outbox messages run in-process on commit (the SQLite quick start)."""
    celery_conf(task_always_eager=True)
