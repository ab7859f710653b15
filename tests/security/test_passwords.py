"""Password validators: weak passwords are refused wherever a password is set."""

import pytest
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "password",
    [
        "short1!",  # under ten characters
        "1234567890123",  # numbers only
        "password123",  # a common password
        "qwertyuiop",  # a common password
        "zhangsan-county",  # too close to the user's name
    ],
)
def test_weak_passwords_are_refused(password):
    user = UserFactory(username="zhangsan-county", first_name="zhangsan")

    with pytest.raises(ValidationError):
        validate_password(password, user)


def test_a_strong_password_is_accepted():
    user = UserFactory(username="zhangsan-county")

    assert validate_password("Jiujiang-loan-2020!", user) is None


def test_the_set_password_form_refuses_a_weak_password_and_keeps_the_old_one():
    user = UserFactory(username="lisi")
    form = SetPasswordForm(user, {"new_password1": "12345678", "new_password2": "12345678"})

    assert not form.is_valid()
    assert "new_password2" in form.errors
    user.refresh_from_db()
    assert not user.check_password("12345678")
