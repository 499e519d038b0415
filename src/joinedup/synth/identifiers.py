"""Identifiers with real check digits: NHS numbers, unique pupil numbers, PNC ids, postcodes.

All of them are fictional. NHS numbers come from the range the NHS keeps for testing
(999 000 0000 to 999 999 9999), which is never issued to a patient; UPNs carry local
authority numbers 990 and 991, which no English authority has; postcodes use areas WX and
AS, which do not exist.
"""

from __future__ import annotations

import random

__all__ = [
    "UPN_LETTERS",
    "bad_nhs_number",
    "bad_upn",
    "nhs_check_digit",
    "nhs_number",
    "pnc_id",
    "postcode_unit",
    "upn",
    "upn_check_letter",
]

# The check letter alphabet: 23 letters, no I, O or S.
UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"
# Letters allowed in the inward code's last two positions (no C I K M O V).
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
# PNC check characters, indexed by the remainder mod 23.
_PNC_LETTERS = "ZABCDEFGHJKLMNPQRTUVWXY"


def nhs_check_digit(first_nine: str) -> int | None:
    """Modulus 11 check digit for nine digits, or None when no valid digit exists (10)."""
    total = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    if check == 10:
        return None
    return check


def nhs_number(rng: random.Random) -> str:
    """A valid NHS number in the NHS test range (starts 999)."""
    while True:
        first = "999" + f"{rng.randrange(1_000_000):06d}"
        check = nhs_check_digit(first)
        if check is not None:
            return first + str(check)


def bad_nhs_number(valid: str) -> str:
    """The same number with a wrong check digit (what a keying error produces)."""
    check = int(valid[9])
    return valid[:9] + str((check + 3) % 10)


def upn_check_letter(body: str) -> str:
    """Check letter for the 12 characters after it (DfE UPN algorithm, weights 2..13)."""
    total = sum(int(ch) * weight for ch, weight in zip(body, range(2, 14), strict=True))
    return UPN_LETTERS[total % 23]


def upn(rng: random.Random, la_number: int, year_of_entry: int) -> str:
    """A valid permanent UPN: check letter, LA number, establishment, year, serial."""
    establishment = rng.randrange(2000, 6000)
    serial = rng.randrange(1000)
    body = f"{la_number:03d}{establishment:04d}{year_of_entry % 100:02d}{serial:03d}"
    return upn_check_letter(body) + body


def bad_upn(valid: str) -> str:
    """The same UPN with a wrong check letter."""
    index = UPN_LETTERS.index(valid[0])
    return UPN_LETTERS[(index + 5) % 23] + valid[1:]


def pnc_id(rng: random.Random, year: int) -> str:
    """A PNC id in the form YY/NNNNNNNA with its check character."""
    serial = rng.randrange(1, 999_999)
    yy = year % 100
    check = _PNC_LETTERS[int(f"{yy:02d}{serial:07d}") % 23]
    return f"{yy:02d}/{serial}{check}"


def postcode_unit(rng: random.Random) -> str:
    """The last two letters of an inward code."""
    return rng.choice(_INWARD_LETTERS) + rng.choice(_INWARD_LETTERS)
