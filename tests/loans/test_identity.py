"""Tests for loans.services.identity: resident ID, credit code and mobile validation.

Pure functions, no database. Known-valid values are both computed by the generators and
checked against published examples verified by hand below.
"""

from __future__ import annotations

import datetime

import pytest

from gonghui.errors import DomainError
from loans.services.identity import (
    CREDIT_CODE_ALPHABET,
    credit_code_check_char,
    make_credit_code,
    make_resident_id,
    mask_resident_id,
    normalize_text,
    resident_id_birth_date,
    resident_id_check_char,
    validate_credit_code,
    validate_mobile,
    validate_resident_id,
)

# GB 11643-1999 published example, verified by hand:
#   digits   1  1  0  1  0  5  1  9  4  9  1  2  3  1  0  0  2
#   weights  7  9 10  5  8  4  2  1  6  3  7  9 10  5  8  4  2
#   products 7  9  0  5  0 20  2  9 24 27  7 18 30  5  0  0  4   sum = 167
#   167 % 11 = 2  ->  "10X98765432"[2] = "X"
KNOWN_ID = "11010519491231002X"

# Commonly cited USCC, verified by hand (M = 21, Y = 30 in the 31-char alphabet):
#   chars    9  1  3  5  0  1  0  0  M  0  0  0  1  0  0  Y  4
#   weights  1  3  9 27 19 26 16 17 20 29 25 13  8 24 10 30 28
#   products 9  3 27 135 0 26 0  0 420 0  0  0  8  0  0 900 112  sum = 1640
#   1640 % 31 = 28;  (31 - 28) % 31 = 3  ->  alphabet[3] = "3"
KNOWN_CREDIT_CODE = "91350100M000100Y43"

TODAY = datetime.date(2024, 6, 1)

ARABIC_INDIC = str.maketrans("0123456789", "".join(chr(0x0660 + n) for n in range(10)))
EXTENDED_ARABIC_INDIC = str.maketrans("0123456789", "".join(chr(0x06F0 + n) for n in range(10)))
FULL_WIDTH = str.maketrans(
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ+-",
    "".join(chr(0xFF10 + n) for n in range(10))
    + "".join(chr(0xFF21 + n) for n in range(26))
    + "\uff0b\uff0d",
)


def with_check_char(first17: str) -> str:
    """An ID whose check digit is right, so only the property under test is wrong."""
    return first17 + resident_id_check_char(first17)


def assert_refused(exc_info: pytest.ExceptionInfo[DomainError], code: str, field: str) -> None:
    error = exc_info.value
    assert error.code == code
    assert field in error.field_errors
    assert error.field_errors[field] == [error.message]
    assert error.message  # a Chinese message for the applicant


# --- normalize_text ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  11010519491231002x\t", "11010519491231002X"),
        ("\u3000１１０１０５\u3000", "110105"),
        ("ａｂｃ", "ABC"),
        ("\u0661\u0662", "\u0661\u0662"),  # NFKC keeps Arabic-Indic digits as they are
    ],
)
def test_normalize_text_folds_full_width_trims_and_upper_cases(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


# --- resident ID: valid ---------------------------------------------------------------------


def test_published_example_id_is_valid() -> None:
    assert validate_resident_id(KNOWN_ID, today=TODAY) == KNOWN_ID


def test_generator_reproduces_published_example_id() -> None:
    generated = make_resident_id(region="110105", birth=datetime.date(1949, 12, 31), sequence=2)
    assert generated == KNOWN_ID


@pytest.mark.parametrize(
    ("region", "birth", "sequence"),
    [
        ("360421", datetime.date(1990, 1, 1), 123),
        ("440305", datetime.date(2000, 2, 29), 0),
        ("650102", datetime.date(1900, 1, 1), 999),
        ("810000", datetime.date(1985, 7, 1), 11),
        ("830000", datetime.date(1975, 10, 10), 88),
        ("910000", datetime.date(1960, 5, 20), 7),
        ("110101", TODAY, 1),  # born today is not in the future
    ],
)
def test_generated_ids_are_valid(region: str, birth: datetime.date, sequence: int) -> None:
    id_number = make_resident_id(region=region, birth=birth, sequence=sequence)
    assert len(id_number) == 18
    assert validate_resident_id(id_number, today=TODAY) == id_number
    assert resident_id_birth_date(id_number) == birth


def test_lower_case_x_check_char_is_accepted() -> None:
    assert validate_resident_id(KNOWN_ID.lower(), today=TODAY) == KNOWN_ID


@pytest.mark.parametrize("check_char", ["\uff38", "\uff58"])  # full-width Ｘ and ｘ
def test_full_width_digits_and_x_are_accepted(check_char: str) -> None:
    full_width = KNOWN_ID[:17].translate(FULL_WIDTH) + check_char
    assert full_width.startswith("１１０１")
    assert validate_resident_id(full_width, today=TODAY) == KNOWN_ID


@pytest.mark.parametrize(
    "padded",
    [f"  {KNOWN_ID}  ", f"\u3000{KNOWN_ID}\u3000", f"\t{KNOWN_ID}\n", f"\u00a0{KNOWN_ID}"],
)
def test_surrounding_and_full_width_spaces_are_trimmed(padded: str) -> None:
    assert validate_resident_id(padded, today=TODAY) == KNOWN_ID


def test_default_today_accepts_a_past_birth_date() -> None:
    assert validate_resident_id(KNOWN_ID) == KNOWN_ID


def test_custom_field_name_is_used_in_errors() -> None:
    with pytest.raises(DomainError) as exc_info:
        validate_resident_id("123", field="spouse_id_number", today=TODAY)
    assert_refused(exc_info, "id_number_format", "spouse_id_number")
    assert "id_number" not in exc_info.value.field_errors


# --- resident ID: refused -------------------------------------------------------------------


@pytest.mark.parametrize("wrong", [c for c in "0123456789X" if c != KNOWN_ID[-1]])
def test_check_digit_mismatch_is_rejected(wrong: str) -> None:
    with pytest.raises(DomainError) as exc_info:
        validate_resident_id(KNOWN_ID[:17] + wrong, today=TODAY)
    assert_refused(exc_info, "id_number_check_digit", "id_number")
    assert exc_info.value.message == "身份证号校验位错误，请核对后重新输入"


def test_swapped_digits_are_rejected_by_check_digit() -> None:
    swapped = KNOWN_ID[:15] + KNOWN_ID[16] + KNOWN_ID[15] + KNOWN_ID[17:]  # "002" -> "020"
    assert swapped == "11010519491231020X"
    with pytest.raises(DomainError) as exc_info:
        validate_resident_id(swapped, today=TODAY)
    assert_refused(exc_info, "id_number_check_digit", "id_number")


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        KNOWN_ID[:17],  # 17 characters
        KNOWN_ID + "1",  # 19 characters
        "110105491231002",  # old 15-digit number
        "1101051949123A002X",  # letter inside
        "X1010519491231002X",  # X only allowed last
        "11010519491231002Y",  # wrong check letter
        "110105 19491231002X",  # inner space
        "110105-19491231002X",  # inner hyphen
        KNOWN_ID + "\u0000",
    ],
)
def test_wrong_length_or_characters_are_rejected_as_format(value: str) -> None:
    with pytest.raises(DomainError) as exc_info:
        validate_resident_id(value, today=TODAY)
    assert_refused(exc_info, "id_number_format", "id_number")


@pytest.mark.parametrize("table", [ARABIC_INDIC, EXTENDED_ARABIC_INDIC])
def test_arabic_indic_digits_are_rejected_as_format(table: dict[int, str]) -> None:
    with pytest.raises(DomainError) as exc_info:
        validate_resident_id(KNOWN_ID.translate(table), today=TODAY)
    assert_refused(exc_info, "id_number_format", "id_number")


def test_single_arabic_indic_digit_is_rejected_as_format() -> None:
    value = KNOWN_ID[:5] + "\u0665" + KNOWN_ID[6:]  # ٥ in place of 5
    with pytest.raises(DomainError) as exc_info:
        validate_resident_id(value, today=TODAY)
    assert_refused(exc_info, "id_number_format", "id_number")


@pytest.mark.parametrize("value", [None, 110105194912310020])
def test_non_text_is_rejected_as_format(value: object) -> None:
    with pytest.raises(DomainError) as exc_info:
        validate_resident_id(value, today=TODAY)  # type: ignore[arg-type]
    assert_refused(exc_info, "id_number_format", "id_number")


@pytest.mark.parametrize(
    "province", ["00", "10", "16", "20", "24", "38", "47", "55", "66", "70", "72", "84", "90", "99"]
)
def test_unknown_province_code_is_rejected(province: str) -> None:
    value = with_check_char(f"{province}010519491231002")
    with pytest.raises(DomainError) as exc_info:
        validate_resident_id(value, today=TODAY)
    assert_refused(exc_info, "id_number_region", "id_number")


@pytest.mark.parametrize(
    "birth_digits",
    [
        "20230229",  # not a leap year
        "19990230",  # Feb 30
        "19991301",  # month 13
        "19990001",  # month 0
        "19990100",  # day 0
        "19990431",  # April has 30 days
        "18991231",  # before 1900
        "00000000",
        "20240602",  # the day after TODAY
        "20990101",  # far future
    ],
)
def test_invalid_birth_date_is_rejected(birth_digits: str) -> None:
    value = with_check_char(f"110105{birth_digits}002")
    with pytest.raises(DomainError) as exc_info:
        validate_resident_id(value, today=TODAY)
    assert_refused(exc_info, "id_number_birth_date", "id_number")


def test_leap_day_in_leap_year_is_accepted() -> None:
    value = with_check_char("11010520000229002")
    assert validate_resident_id(value, today=TODAY) == value


def test_future_check_uses_the_given_today() -> None:
    value = with_check_char("11010520240602002")
    with pytest.raises(DomainError):
        validate_resident_id(value, today=TODAY)
    assert validate_resident_id(value, today=TODAY + datetime.timedelta(days=1)) == value


def test_birth_date_of_invalid_number_is_refused() -> None:
    with pytest.raises(DomainError) as exc_info:
        resident_id_birth_date(KNOWN_ID[:17] + "0")
    assert_refused(exc_info, "id_number_check_digit", "id_number")


# --- resident ID: helpers and generator -----------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    ["", "1101051949123100", "110105194912310021", "1101051949123100X", "\u0661" * 17, "１" * 17],
)
def test_resident_id_check_char_refuses_anything_but_17_ascii_digits(bad: str) -> None:
    with pytest.raises(ValueError):
        resident_id_check_char(bad)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"region": "11010", "birth": datetime.date(1990, 1, 1), "sequence": 1},
        {
            "region": "\u0661\u0661\u0660\u0661\u0660\u0665",
            "birth": datetime.date(1990, 1, 1),
            "sequence": 1,
        },
        {"region": "990000", "birth": datetime.date(1990, 1, 1), "sequence": 1},
        {"region": "110105", "birth": datetime.date(1899, 12, 31), "sequence": 1},
        {"region": "110105", "birth": datetime.date(1990, 1, 1), "sequence": -1},
        {"region": "110105", "birth": datetime.date(1990, 1, 1), "sequence": 1000},
        {"region": "110105", "birth": datetime.date(1990, 1, 1), "sequence": True},
    ],
)
def test_make_resident_id_refuses_arguments_that_cannot_give_a_valid_number(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        make_resident_id(**kwargs)


# --- masking --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (KNOWN_ID, "1101**********002X"),
        ("360421199001011234", "3604**********1234"),
        ("11010519491231002x", "1101**********002X"),
        ("12345", "*2345"),
        ("110105491231002", "***********1002"),
        ("1234", "1234"),
        ("", ""),
    ],
)
def test_mask_resident_id_hides_the_middle(value: str, expected: str) -> None:
    assert mask_resident_id(value) == expected


def test_masked_id_never_contains_the_birth_date() -> None:
    assert "19491231" not in mask_resident_id(KNOWN_ID)


# --- unified social credit code -------------------------------------------------------------


def test_published_example_credit_code_is_valid() -> None:
    assert validate_credit_code(KNOWN_CREDIT_CODE) == KNOWN_CREDIT_CODE
    assert credit_code_check_char(KNOWN_CREDIT_CODE[:17]) == "3"


def test_generator_reproduces_published_example_credit_code() -> None:
    assert make_credit_code(body=KNOWN_CREDIT_CODE[:17]) == KNOWN_CREDIT_CODE


@pytest.mark.parametrize(
    "body",
    [
        "91110000100000000",
        "12100000MB0123456",
        "52440300MJL000000",
        "Y1110000000000000",
        "93360421XYWUTRQPN",
    ],
)
def test_generated_credit_codes_are_valid(body: str) -> None:
    code = make_credit_code(body=body)
    assert code[:17] == body
    assert validate_credit_code(code) == code


@pytest.mark.parametrize("wrong", [c for c in CREDIT_CODE_ALPHABET if c != KNOWN_CREDIT_CODE[-1]])
def test_credit_code_check_char_mismatch_is_rejected(wrong: str) -> None:
    with pytest.raises(DomainError) as exc_info:
        validate_credit_code(KNOWN_CREDIT_CODE[:17] + wrong)
    assert_refused(exc_info, "credit_code_check_digit", "credit_code")


@pytest.mark.parametrize("letter", ["I", "O", "Z", "S", "V"])
@pytest.mark.parametrize("position", [0, 8, 17])
def test_credit_code_forbidden_letters_are_rejected(letter: str, position: int) -> None:
    value = KNOWN_CREDIT_CODE[:position] + letter + KNOWN_CREDIT_CODE[position + 1 :]
    with pytest.raises(DomainError) as exc_info:
        validate_credit_code(value)
    assert_refused(exc_info, "credit_code_format", "credit_code")


@pytest.mark.parametrize(
    "value",
    [
        "",
        KNOWN_CREDIT_CODE[:17],
        KNOWN_CREDIT_CODE + "3",
        "91350100M000100Y4-",
        "91350100M 000100Y43",
        KNOWN_CREDIT_CODE.translate(ARABIC_INDIC),
        None,
    ],
)
def test_credit_code_wrong_length_or_characters_are_rejected(value: str) -> None:
    with pytest.raises(DomainError) as exc_info:
        validate_credit_code(value, field="employer_code")
    assert_refused(exc_info, "credit_code_format", "employer_code")


def test_credit_code_region_must_be_digits() -> None:
    # A letter in positions 3-8 is in the alphabet but not a region code.
    value = "91A50100M000100Y4"
    value += credit_code_check_char(value)
    with pytest.raises(DomainError) as exc_info:
        validate_credit_code(value)
    assert_refused(exc_info, "credit_code_format", "credit_code")


def test_credit_code_lower_case_is_accepted() -> None:
    assert validate_credit_code(KNOWN_CREDIT_CODE.lower()) == KNOWN_CREDIT_CODE


def test_credit_code_full_width_and_spaces_are_accepted() -> None:
    full_width = "\u3000" + KNOWN_CREDIT_CODE.translate(FULL_WIDTH) + " "
    assert validate_credit_code(full_width) == KNOWN_CREDIT_CODE


@pytest.mark.parametrize("bad", ["", "91350100M000100Y", "91350100M000100YI", "91350100m000100Y4"])
def test_credit_code_check_char_refuses_non_alphabet_input(bad: str) -> None:
    with pytest.raises(ValueError):
        credit_code_check_char(bad)


@pytest.mark.parametrize("body", ["9135010", "91A50100M000100Y4", "91350100M000100YO"])
def test_make_credit_code_refuses_invalid_bodies(body: str) -> None:
    with pytest.raises(ValueError):
        make_credit_code(body=body)


# --- mobile ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "13812345678",
        "+8613812345678",
        "8613812345678",
        "+86 138 1234 5678",
        "138-1234-5678",
        "+86-138-1234-5678",
        "  13812345678\u3000",
        "１３８１２３４５６７８",
        "＋８６ １３８－１２３４－５６７８",
    ],
)
def test_valid_mobile_is_normalised_to_eleven_digits(value: str) -> None:
    assert validate_mobile(value) == "13812345678"


@pytest.mark.parametrize("prefix", ["13", "14", "15", "16", "17", "18", "19"])
def test_all_mobile_prefixes_13_to_19_are_accepted(prefix: str) -> None:
    assert validate_mobile(f"{prefix}912345678") == f"{prefix}912345678"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "138123456789",  # 12 digits
        "1381234567",  # 10 digits
        "12812345678",  # starts with 12
        "10812345678",
        "23812345678",
        "+8513812345678",
        "+13812345678",
        "008613812345678",
        "86+13812345678",
        "1381234567a",
        "13812345678".translate(ARABIC_INDIC),
        "1381234567\u0668",  # one Arabic-Indic digit
        "13812345678".translate(EXTENDED_ARABIC_INDIC),
        "138.1234.5678",
        None,
    ],
)
def test_invalid_mobile_is_rejected(value: str) -> None:
    with pytest.raises(DomainError) as exc_info:
        validate_mobile(value)
    assert_refused(exc_info, "mobile_format", "mobile")


def test_mobile_custom_field_name_is_used_in_errors() -> None:
    with pytest.raises(DomainError) as exc_info:
        validate_mobile("12345", field="contact_mobile")
    assert_refused(exc_info, "mobile_format", "contact_mobile")
