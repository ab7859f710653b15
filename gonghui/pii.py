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

A stored value that no configured key decrypts (a key dropped too early, a row restored from a
backup made under a retired key) would come back from the library as its ciphertext, shown as
if it were an ID. Our field instead logs an error and gives :data:`UNREADABLE`, a marked
placeholder (``〔无法解密〕``), and refuses to write that placeholder back: a page or export
keeps working for every other row and shows plainly that one value is unreadable, while the
ciphertext stays in the database, readable again once the right key is configured. Raising
instead would take down every list, roster and export touching one such row.
"""

import hashlib
import hmac
import logging
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models
from encrypted_fields.fields import EncryptedCharField as _LibraryEncryptedCharField

logger = logging.getLogger(__name__)


class UnreadableValue(str):
    """The placeholder an encrypted column gives for a value no configured key decrypts."""


UNREADABLE = UnreadableValue("〔无法解密〕")


class UnreadableValueError(ValueError):
    """Raised on an attempt to store :data:`UNREADABLE` (it would overwrite the ciphertext)."""


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode("ascii")) for key in keys])


def fernet() -> MultiFernet:
    """Encrypts with the first FIELD_ENCRYPTION_KEY key, decrypts with any of them."""
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEY))


def decrypt_stored(value: str) -> str | None:
    """The clear text of a stored token, or ``None`` if no configured key decrypts it."""
    try:
        return fernet().decrypt(value.encode("utf-8")).decode("utf-8")
    except (InvalidToken, UnicodeEncodeError):
        return None


class EncryptedCharField(_LibraryEncryptedCharField):
    """A text column stored Fernet-encrypted with the FIELD_ENCRYPTION_KEY keys.

    ``max_length`` applies to the clear value (forms, validation); the column is ``text``.
    A value read from the database that no key decrypts becomes :data:`UNREADABLE` (logged as
    an error), never its ciphertext; see the module docstring.
    """

    @property
    def f(self) -> MultiFernet:  # the library's encrypt/decrypt object, keyed our way
        return fernet()

    def from_db_value(self, value, expression, connection):
        # Only here is every non-empty value a token: ``to_python`` also sees clear values
        # (``get_prep_value`` calls it before encrypting), so it keeps the library's leniency.
        if not value:
            return value
        clear = decrypt_stored(value)
        if clear is None:
            logger.error(
                "%s: a stored value cannot be decrypted with any FIELD_ENCRYPTION_KEY key "
                "(wrong key, or a key retired before its rows were re-encrypted)",
                self,
            )
            return UNREADABLE
        return clear

    def get_prep_value(self, value):
        if isinstance(value, UnreadableValue):
            raise UnreadableValueError(
                f"{self}: 该值无法解密（密钥缺失），为免覆盖原密文，拒绝写回数据库"
            )
        return super().get_prep_value(value)


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
        if isinstance(value, UnreadableValue):  # never hash the placeholder
            raise UnreadableValueError(f"{self}: 来源字段无法解密，不能重算")
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
