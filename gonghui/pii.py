"""Personal data at rest (PIPL): encrypted columns and keyed-hash lookup columns.

Resident IDs and mobile numbers are stored Fernet-encrypted by django-fernet-encrypted-fields.
The library derives its key from ``SECRET_KEY`` and ``SALT_KEY``; here the key is instead
``settings.FIELD_ENCRYPTION_KEY`` (a list of Fernet keys, read from the environment), so that
rotating ``SECRET_KEY`` (sessions, CSRF) can never make personal data unreadable. The first key
encrypts; every key decrypts (rotation: put the new key first, run ``reencrypt_personal_data``,
then drop the old key).

Encrypted values cannot be compared in SQL (every encryption of a value differs), so lookups go
through a keyed hash (HMAC-SHA256 with ``settings.PII_HASH_KEY``) stored next to the value.
The derived columns are filled in ``pre_save``, which Django calls for ``save()`` and for every
row of ``bulk_create()``; ``bulk_update()`` does not call it, so callers that change the source
value in bulk must call :func:`fill_derived` first.
"""

import hashlib
import hmac
from functools import cache

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.db import models
from encrypted_fields.fields import EncryptedCharField as _LibraryEncryptedCharField


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode("ascii")) for key in keys])


class EncryptedCharField(_LibraryEncryptedCharField):
    """A text column stored Fernet-encrypted with the FIELD_ENCRYPTION_KEY keys.

    ``max_length`` applies to the clear value (forms, validation); the column is ``text``.
    """

    @property
    def f(self) -> MultiFernet:  # the library's encrypt/decrypt object, keyed our way
        return _fernet(tuple(settings.FIELD_ENCRYPTION_KEY))


def keyed_hash(value: str) -> str:
    """HMAC-SHA256 of *value* under PII_HASH_KEY, hex: equal inputs give equal hashes."""
    key = settings.PII_HASH_KEY.encode("utf-8")
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def last_four(value: str) -> str:
    return value[-4:]


DERIVATIONS = {"hash": keyed_hash, "tail": last_four}


class DerivedCharField(models.CharField):
    """A column computed from another field of the same row on every save/bulk_create.

    ``derive`` names the function in :data:`DERIVATIONS`; an empty source gives ``None``.
    """

    def __init__(self, *args, source: str, derive: str, **kwargs):
        self.source, self.derive = source, derive
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs.update(source=self.source, derive=self.derive)
        kwargs.pop("editable", None)
        return name, path, args, kwargs

    def compute(self, instance) -> str | None:
        value = getattr(instance, self.source)
        return DERIVATIONS[self.derive](value) if value else None

    def pre_save(self, model_instance, add):
        if not hasattr(model_instance, self.source):
            # A history row copies the derived value; its source column is not kept there.
            return super().pre_save(model_instance, add)
        value = self.compute(model_instance)
        setattr(model_instance, self.attname, value)
        return value


def fill_derived(instance) -> None:
    """Recompute every derived column of *instance* (before a ``bulk_update``)."""
    for field in instance._meta.concrete_fields:
        if isinstance(field, DerivedCharField) and hasattr(instance, field.source):
            setattr(instance, field.attname, field.compute(instance))
