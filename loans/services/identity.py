"""Validation of the identity numbers a loan application carries.

Applicants type their resident ID number (居民身份证号码, GB 11643-1999), employers
their unified social credit code (统一社会信用代码, GB 32100-2015) and everyone a mainland
mobile number, often from a phone keyboard in Chinese input mode. So every value is first
folded with NFKC (full-width ``１２Ｘ`` becomes ``12X``), trimmed and upper-cased, and only
then matched against ASCII-only patterns. The patterns are ASCII-only on purpose: ``\\d``
in Unicode mode, ``str.isdigit()`` and ``int()`` all accept Arabic-Indic and other
non-ASCII digits that NFKC leaves alone, and such a value must never reach the database as
if it were a valid number.

Each refusal is a :class:`~gonghui.errors.DomainError` for one field with its own English
code, so a form can say *what* is wrong (format, region, birth date, check digit) in
Chinese. The check-character helpers are shared by validation and by the generators for
demo data and tests, so the weighting formula exists exactly once.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from zoneinfo import ZoneInfo

from gonghui.errors import DomainError
from gonghui.pii import UnreadableValue

__all__ = [
    "CREDIT_CODE_ALPHABET",
    "birth_date_or_none",
    "credit_code_check_char",
    "make_credit_code",
    "make_resident_id",
    "mask_mobile",
    "mask_resident_id",
    "normalize_text",
    "resident_id_birth_date",
    "resident_id_check_char",
    "validate_credit_code",
    "validate_mobile",
    "validate_resident_id",
]

# The portal serves mainland applicants; "today" for a birth date is the Beijing date.
_LOCAL_TZ = ZoneInfo("Asia/Shanghai")

# --- resident ID number (GB 11643-1999) -------------------------------------------------

_RESIDENT_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RESIDENT_ID_CHECK_CHARS = "10X98765432"
_RESIDENT_ID_MIN_YEAR = 1900
# Province-level codes (GB/T 2260) plus 71 Taiwan, 81/82 Hong Kong/Macao, 83 Taiwan
# residence permits and 91 foreign permanent residents.
_PROVINCE_CODES = frozenset(
    [f"{n}" for n in range(11, 16)]
    + [f"{n}" for n in range(21, 24)]
    + [f"{n}" for n in range(31, 38)]
    + [f"{n}" for n in range(41, 47)]
    + [f"{n}" for n in range(50, 55)]
    + [f"{n}" for n in range(61, 66)]
    + ["71", "81", "82", "83", "91"]
)
# fullmatch + explicit [0-9] + re.ASCII: no Unicode digits, no trailing-newline loophole.
_RESIDENT_ID_RE = re.compile(r"[0-9]{17}[0-9X]", re.ASCII)
_RESIDENT_ID_BODY_RE = re.compile(r"[0-9]{17}", re.ASCII)
_REGION_RE = re.compile(r"[0-9]{6}", re.ASCII)

_MSG_ID_FORMAT = "身份证号格式错误，应为18位数字（最后一位可以是X）"
_MSG_ID_REGION = "身份证号地区码无效，请核对后重新输入"
_MSG_ID_BIRTH_DATE = "身份证号中的出生日期无效，请核对后重新输入"
_MSG_ID_CHECK_DIGIT = "身份证号校验位错误，请核对后重新输入"

# --- unified social credit code (GB 32100-2015) ------------------------------------------

# 31 characters: digits and upper-case letters without I, O, Z, S, V (easily misread).
CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT_CODE_MODULUS = len(CREDIT_CODE_ALPHABET)
_CREDIT_CHAR = f"[{CREDIT_CODE_ALPHABET}]"
# Positions 1-2: registration authority and entity type; 3-8: region code (digits);
# 9-17: organisation code; 18: check character.
_CREDIT_CODE_BODY_RE = re.compile(rf"{_CREDIT_CHAR}{{2}}[0-9]{{6}}{_CREDIT_CHAR}{{9}}", re.ASCII)
_CREDIT_CODE_RE = re.compile(rf"{_CREDIT_CHAR}{{2}}[0-9]{{6}}{_CREDIT_CHAR}{{10}}", re.ASCII)

_MSG_CREDIT_FORMAT = "统一社会信用代码格式错误，应为18位数字或大写字母（不含I、O、Z、S、V）"
_MSG_CREDIT_CHECK_DIGIT = "统一社会信用代码校验位错误，请核对后重新输入"

# --- mainland mobile number --------------------------------------------------------------

# Optional +86 / 86 country code, then 11 digits starting 13-19. An 11-digit mobile number
# always starts with 1, so a leading "86" can never be part of the number itself.
_MOBILE_RE = re.compile(r"(?:\+?86)?(1[3-9][0-9]{9})", re.ASCII)
# Separators people type inside a number; removing them cannot turn junk into digits.
_MOBILE_SEPARATORS_RE = re.compile(r"[\s\-]")

_MSG_MOBILE_FORMAT = "手机号格式错误，请输入11位中国大陆手机号"


def normalize_text(value: str) -> str:
    """Fold *value* to the canonical form every identity pattern is matched against.

    NFKC turns full-width digits and letters (``１``, ``Ｘ``) and the ideographic space into
    their ASCII forms, which is what a Chinese input method produces by accident; trimming
    and upper-casing remove the other harmless differences (``x`` vs ``X``). NFKC does not
    turn Arabic-Indic or other non-ASCII digits into ASCII, so callers must still match the
    result with ASCII-only patterns.
    """
    return unicodedata.normalize("NFKC", value).strip().upper()


def _normalized_or_none(value: object) -> str | None:
    """Normalise user input, or ``None`` when it is not text at all (e.g. ``None``)."""
    if not isinstance(value, str):
        return None
    return normalize_text(value)


# --- resident ID number ------------------------------------------------------------------


def resident_id_check_char(first17: str) -> str:
    """Return the GB 11643-1999 check character for the first 17 digits of an ID number.

    ISO 7064 MOD 11-2: the weighted digit sum modulo 11 indexes ``"10X98765432"``. Shared
    by :func:`validate_resident_id` and :func:`make_resident_id` so the formula exists once.
    Raises :class:`ValueError` unless *first17* is exactly 17 ASCII digits, because a wrong
    argument here is a programming error, not user input.
    """
    if not isinstance(first17, str) or not _RESIDENT_ID_BODY_RE.fullmatch(first17):
        raise ValueError(f"expected 17 ASCII digits, got {first17!r}")
    total = sum(
        int(char) * weight for char, weight in zip(first17, _RESIDENT_ID_WEIGHTS, strict=True)
    )
    return _RESIDENT_ID_CHECK_CHARS[total % 11]


def birth_date_or_none(id_number: str) -> datetime.date | None:
    """Parse the YYYYMMDD at positions 7-14 of a format-checked ID, ``None`` if no date."""
    digits = id_number[6:14]
    try:
        return datetime.date(int(digits[0:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None


def validate_resident_id(
    value: str,
    *,
    field: str = "id_number",
    today: datetime.date | None = None,
) -> str:
    """Return *value* as a normalised 18-character resident ID number, or refuse it.

    The checks run from the coarsest to the finest so the applicant is told the most useful
    thing first: format (17 ASCII digits + digit or ``X``), province code, birth date (a
    real calendar date, not before 1900 and not after *today*, the Beijing date by default)
    and finally the check character, which catches a single mistyped or swapped digit.
    *field* names the form field the error is attached to.
    """
    id_number = _normalized_or_none(value)
    if id_number is None or not _RESIDENT_ID_RE.fullmatch(id_number):
        raise DomainError.for_field(field, "id_number_format", _MSG_ID_FORMAT)

    if id_number[:2] not in _PROVINCE_CODES:
        raise DomainError.for_field(field, "id_number_region", _MSG_ID_REGION)

    if today is None:
        today = datetime.datetime.now(tz=_LOCAL_TZ).date()
    birth = birth_date_or_none(id_number)
    if birth is None or birth.year < _RESIDENT_ID_MIN_YEAR or birth > today:
        raise DomainError.for_field(field, "id_number_birth_date", _MSG_ID_BIRTH_DATE)

    if resident_id_check_char(id_number[:17]) != id_number[17]:
        raise DomainError.for_field(field, "id_number_check_digit", _MSG_ID_CHECK_DIGIT)
    return id_number


def resident_id_birth_date(id_number: str) -> datetime.date:
    """Return the birth date encoded in a resident ID number.

    The number is fully validated first (see :func:`validate_resident_id`), so a date is
    never derived from a number that would have been refused on input.
    """
    normalized = validate_resident_id(id_number)
    birth = birth_date_or_none(normalized)
    assert birth is not None  # guaranteed by validate_resident_id
    return birth


def mask_resident_id(id_number: str) -> str:
    """Mask an ID number for display: first 4 and last 4 characters, 10 ``*`` between.

    Screens, exports and logs must not show a full ID number, yet staff need enough of it
    to tell applicants apart (e.g. ``3604**********1234``). Anything that is not 18
    characters long keeps only its last 4 characters, so a malformed value is not leaked
    in full either. The placeholder of an undecryptable value (gonghui/pii.py) stays as is.
    """
    if isinstance(id_number, UnreadableValue):
        return id_number
    text = normalize_text(id_number)
    if len(text) == 18:
        return f"{text[:4]}{'*' * 10}{text[-4:]}"
    return "*" * max(len(text) - 4, 0) + text[-4:]


def make_resident_id(*, region: str, birth: datetime.date, sequence: int) -> str:
    """Build a valid resident ID number for demo data and tests.

    *region* is the 6-digit address code, *birth* the birth date and *sequence* the
    0..999 order code (odd for men, even for women); the check character is computed with
    :func:`resident_id_check_char`. Raises :class:`ValueError` for arguments that could
    never yield a number :func:`validate_resident_id` accepts, so demo data is never
    silently invalid. (A future *birth* is not refused: "future" depends on the day.)
    """
    if not isinstance(region, str) or not _REGION_RE.fullmatch(region):
        raise ValueError(f"region must be 6 ASCII digits, got {region!r}")
    if region[:2] not in _PROVINCE_CODES:
        raise ValueError(f"unknown province code in region {region!r}")
    if birth.year < _RESIDENT_ID_MIN_YEAR:
        raise ValueError(f"birth year must be {_RESIDENT_ID_MIN_YEAR} or later, got {birth}")
    if isinstance(sequence, bool) or not isinstance(sequence, int) or not 0 <= sequence <= 999:
        raise ValueError(f"sequence must be an int in 0..999, got {sequence!r}")
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return first17 + resident_id_check_char(first17)


# --- unified social credit code ----------------------------------------------------------


def credit_code_check_char(first17: str) -> str:
    """Return the GB 32100-2015 check character for the first 17 characters of a code.

    Each character's index in :data:`CREDIT_CODE_ALPHABET` is weighted; the check value is
    ``(31 - sum % 31) % 31`` mapped back to the alphabet. Shared by
    :func:`validate_credit_code` and :func:`make_credit_code`. Raises :class:`ValueError`
    unless *first17* is 17 characters of the alphabet (a programming error, not input).
    """
    if (
        not isinstance(first17, str)
        or len(first17) != 17
        or any(char not in CREDIT_CODE_ALPHABET for char in first17)
    ):
        raise ValueError(f"expected 17 credit-code characters, got {first17!r}")
    total = sum(
        CREDIT_CODE_ALPHABET.index(char) * weight
        for char, weight in zip(first17, _CREDIT_CODE_WEIGHTS, strict=True)
    )
    check = (_CREDIT_CODE_MODULUS - total % _CREDIT_CODE_MODULUS) % _CREDIT_CODE_MODULUS
    return CREDIT_CODE_ALPHABET[check]


def validate_credit_code(value: str, *, field: str = "credit_code") -> str:
    """Return *value* as a normalised 18-character unified social credit code, or refuse it.

    After NFKC folding (full-width and lower-case letters are accepted) the code must use
    only the 31-character alphabet (no I, O, Z, S, V), have a numeric region code in
    positions 3-8, and end with the correct check character. *field* names the form field
    the error is attached to.
    """
    code = _normalized_or_none(value)
    if code is None or not _CREDIT_CODE_RE.fullmatch(code):
        raise DomainError.for_field(field, "credit_code_format", _MSG_CREDIT_FORMAT)
    if credit_code_check_char(code[:17]) != code[17]:
        raise DomainError.for_field(field, "credit_code_check_digit", _MSG_CREDIT_CHECK_DIGIT)
    return code


def make_credit_code(*, body: str) -> str:
    """Append the check character to a 17-character *body*, for demo data and tests.

    Raises :class:`ValueError` unless *body* is exactly 17 alphabet characters with digits
    in positions 3-8, so the result always passes :func:`validate_credit_code`.
    """
    if not isinstance(body, str) or not _CREDIT_CODE_BODY_RE.fullmatch(body):
        raise ValueError(f"body must be 17 credit-code characters, got {body!r}")
    return body + credit_code_check_char(body)


# --- mobile number -----------------------------------------------------------------------


def validate_mobile(value: str, *, field: str = "mobile") -> str:
    """Return the 11-digit mainland mobile number in *value*, or refuse it.

    People paste numbers as ``+86 138-1234-5678`` or type them with full-width digits, so
    after NFKC folding inner spaces and hyphens are dropped and an optional ``+86`` / ``86``
    country code is removed. What is stored is always the bare 11 digits, so the same
    number entered two ways compares equal. *field* names the form field the error is
    attached to.
    """
    text = _normalized_or_none(value)
    match = None
    if text is not None:
        match = _MOBILE_RE.fullmatch(_MOBILE_SEPARATORS_RE.sub("", text))
    if match is None:
        raise DomainError.for_field(field, "mobile_format", _MSG_MOBILE_FORMAT)
    return match.group(1)


def mask_mobile(mobile: str) -> str:
    """First 3 and last 4 digits of a mobile number with ``****`` between (138****5678)."""
    if isinstance(mobile, UnreadableValue):
        return mobile
    text = (mobile or "").strip()
    if len(text) >= 8:
        return f"{text[:3]}****{text[-4:]}"
    # Too short to be a real number: keep only the last 4 characters, like mask_resident_id.
    return "*" * max(len(text) - 4, 0) + text[-4:]
