"""Persian normalisation of the search form, and phone numbers in E.164."""

import pytest

from domain.text import InvalidPhone, normalize_phone, normalize_search


@pytest.mark.parametrize(
    ("typed", "saved"),
    [
        ("علي كريمي", "علی کریمی"),  # Arabic yeh and kaf
        ("مُحَمَّد", "محمد"),  # diacritics
        ("نیک\u200cنام", "نیکنام"),  # zero-width non-joiner
        ("۰۹۱۲۳۴۵۶۷۸۹", "09123456789"),  # Persian digits
        ("٠٩١٢", "0912"),  # Arabic-Indic digits
        ("  Sara   KARIMI ", "sara karimi"),  # spaces and case
        ("فاطمة", "فاطمه"),  # teh marbuta
        ("مـــریم", "مریم"),  # tatweel
    ],
)
def test_search_form_matches_the_persian_spelling(typed, saved):
    assert normalize_search(typed) == normalize_search(saved)


def test_search_form_keeps_distinct_names_distinct():
    assert normalize_search("علی") != normalize_search("عالی")
    assert normalize_search("") == ""
    assert normalize_search(None) == ""


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("0912 345 6789", "+989123456789"),
        ("۰۹۱۲-۳۴۵-۶۷۸۹", "+989123456789"),
        ("+98 912 345 6789", "+989123456789"),
        ("00989123456789", "+989123456789"),
        ("021 8888 1234", "+982188881234"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_phones_become_e164(typed, e164):
    assert normalize_phone(typed) == e164


@pytest.mark.parametrize("typed", ["12", "not a phone", "+98 912", ""])
def test_impossible_phones_are_refused(typed):
    with pytest.raises(InvalidPhone):
        normalize_phone(typed)
