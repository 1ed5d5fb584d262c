"""Persian-ready text: the search form of names and the E.164 form of phones.

Names, notes and addresses are stored exactly as typed. Search goes through a
normalised copy so that a name typed with Arabic letters (ي ك), with diacritics,
with or without zero-width non-joiners, or with Persian digits finds the same
customer as one typed with Persian letters and ASCII digits.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers

# Arabic code points that Persian keyboards render differently, mapped to Persian.
_LETTERS = {
    "\u064a": "\u06cc",  # ARABIC YEH -> FARSI YEH
    "\u0649": "\u06cc",  # ALEF MAKSURA -> FARSI YEH
    "\u0643": "\u06a9",  # ARABIC KAF -> KEHEH
    "\u0629": "\u0647",  # TEH MARBUTA -> HEH
    "\u0623": "\u0627",  # ALEF WITH HAMZA ABOVE -> ALEF
    "\u0625": "\u0627",  # ALEF WITH HAMZA BELOW -> ALEF
    "\u0671": "\u0627",  # ALEF WASLA -> ALEF
}
_DIGITS = {0x06F0 + i: str(i) for i in range(10)} | {0x0660 + i: str(i) for i in range(10)}
# Harakat, tanwin, shadda, sukun, superscript alef, tatweel, and the invisible
# joiners/marks that copy-paste brings along.
_REMOVED = "".join(chr(c) for c in range(0x064B, 0x0660)) + "\u0670\u0640\u200c\u200d\u200e\u200f\ufeff"
_TABLE = str.maketrans({**{ord(k): v for k, v in _LETTERS.items()}, **_DIGITS, **{ord(c): None for c in _REMOVED}})
_SPACES = re.compile(r"\s+")


def normalize_search(text: str | None) -> str:
    """The form used for search and matching; never shown to users."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).translate(_TABLE).casefold()
    return _SPACES.sub(" ", text).strip()


def fold_digits(text: str) -> str:
    """Persian and Arabic-Indic digits to ASCII, nothing else changed."""
    return text.translate(_DIGITS)


class InvalidPhone(ValueError):
    pass


_WHY_IMPOSSIBLE = {
    phonenumbers.ValidationResult.TOO_SHORT: "too short",
    phonenumbers.ValidationResult.TOO_LONG: "too long",
    phonenumbers.ValidationResult.INVALID_LENGTH: "not a length numbers there have",
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "no such country code",
    phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "a local number: give the area code",
}


def normalize_phone(raw: str, default_region: str = "IR") -> str:
    """E.164 form of a phone number typed in any usual way (Persian digits,
    spaces, leading 0 or 0098); raises InvalidPhone, saying why, unless it is
    a valid number (a possible length is not enough: `0912345` has one, as
    +98912345, but no such number exists)."""
    digits = fold_digits(raw).strip()
    try:
        number = phonenumbers.parse(digits, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"not a phone number: {raw!r}") from exc
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible != phonenumbers.ValidationResult.IS_POSSIBLE:
        raise InvalidPhone(f"not a phone number: {raw!r} is {_WHY_IMPOSSIBLE.get(possible, 'impossible')}")
    if not phonenumbers.is_valid_number(number):
        where = phonenumbers.region_code_for_number(number) or default_region
        raise InvalidPhone(f"not a phone number: {raw!r} has no valid prefix or length for {where}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
