"""Phone number helpers: E.164 normalization, digit tails, time zones.

Every number stored or looked up goes through :func:`normalize`, so ``8 (916) 123-45-67``,
``+7 916 1234567`` and ``0079161234567`` all become ``+79161234567`` and meet in one index.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, PhoneNumberDesc
from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

_NON_DIGITS = re.compile(r"\D+")
#: the stored width of ``calls.external_number`` and ``tasks.phone`` for digit-only numbers
MAX_NUMBER = 32
_UNKNOWN_TZ = "Etc/Unknown"
#: separators the fast path drops from ``+7 (495) 123-45-67``, ``0049 30 …``
_SEPARATORS = str.maketrans("", "", " \t().-/")
_TYPE_DESCS = (  # most common first: validity only needs one to match
    "mobile",
    "fixed_line",
    "toll_free",
    "premium_rate",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
)
_Desc = tuple[frozenset[int], re.Pattern[str]]


def _desc(desc: PhoneNumberDesc | None) -> _Desc | None:
    if desc is None or desc.national_number_pattern is None:
        return None
    lengths = frozenset(desc.possible_length or ())
    return lengths, re.compile(desc.national_number_pattern)


@lru_cache(maxsize=512)
def _country_rules(cc: int) -> tuple[tuple[_Desc, tuple[_Desc, ...], re.Pattern[str] | None], ...]:
    """Per region of calling code ``cc``: general pattern, type patterns, national prefix."""
    rules = []
    for region in COUNTRY_CODE_TO_REGION_CODE.get(cc, ()):
        if region == "001":
            md = PhoneMetadata.metadata_for_nongeo_region(cc)
        else:
            md = PhoneMetadata.metadata_for_region(region)
        general = _desc(md.general_desc) if md is not None else None
        if md is None or general is None:
            continue
        types = tuple(d for d in (_desc(getattr(md, n)) for n in _TYPE_DESCS) if d is not None)
        prefix_rule = md.national_prefix_for_parsing or md.national_prefix
        prefix = re.compile(prefix_rule) if prefix_rule else None
        rules.append((general, types, prefix))
    return tuple(rules)


def _matches(desc: _Desc, nsn: str) -> bool:
    lengths, pattern = desc
    return (not lengths or len(nsn) in lengths) and pattern.fullmatch(nsn) is not None


def _fast_international(text: str) -> str | None:
    """E.164 for a plainly written international number that is certainly valid, else None.

    Same rules as phonenumbers' ``is_valid_number`` (general pattern, then any number type,
    with possible lengths), minus the parsing machinery: about 1 µs instead of 20 µs, which
    is what lets a million-row import keep pace. Anything unusual (national prefix after the
    country code, extensions, letters) returns None and takes the full phonenumbers path.
    """
    if text.startswith("+"):
        plain = text[1:].translate(_SEPARATORS)
    elif text.startswith("00"):
        plain = text[2:].translate(_SEPARATORS)
    else:
        return None
    if not plain.isascii() or not plain.isdigit():
        return None
    if plain.startswith("0"):
        return None
    for size in (1, 2, 3):
        cc = int(plain[:size]) if len(plain) > size else 0
        if cc in COUNTRY_CODE_TO_REGION_CODE:
            nsn = plain[size:]
            for general, types, prefix in _country_rules(cc):
                cut = prefix.match(nsn) if prefix is not None else None
                if cut is not None and (cut.groups() or _matches(general, nsn[cut.end() :])):
                    return None  # phonenumbers might strip a national prefix here
                if _matches(general, nsn) and any(_matches(t, nsn) for t in types):
                    return f"+{cc}{nsn}"
            return None
    return None


def digits(s: str) -> str:
    """Only the digits of ``s`` (``"+7 (916) 123-45-67"`` → ``"79161234567"``)."""
    return _NON_DIGITS.sub("", s)


def dialable(e164: str, number_format: str, region: str) -> str:
    """``e164`` as a PBX's dialplan wants it: ``e164`` (``+79161234567``), ``e164-digits``
    (``79161234567``) or ``national``: as one dials it from ``region`` (``89161234567`` in
    Russia, ``810…`` abroad from there, ``011…`` from the US)."""
    if number_format == "e164":
        return e164
    if number_format == "national":
        parsed = phonenumbers.parse(e164, None)
        return digits(phonenumbers.format_out_of_country_calling_number(parsed, region))
    return digits(e164)


def tail(number: str, n: int) -> str:
    """The last ``n`` digits of ``number`` (all of them when it is shorter)."""
    return digits(number)[-n:]


@lru_cache(maxsize=4096)
def normalize(raw: str, region: str) -> str | None:
    """``raw`` as E.164 (``+79161234567``), read in ``region`` when it has no country code.

    Accepts spaces, dashes, brackets, a leading ``00`` international prefix and national
    trunk prefixes such as Russia's ``8``. Returns None for anything that is not a valid
    number, so callers can report it instead of storing garbage.
    """
    text = raw.strip()
    if not text or len(text) > 64:
        return None
    fast = _fast_international(text)
    if fast is not None:
        return fast
    plain = digits(text)
    if not plain:
        return None
    if text.startswith("+"):
        candidate = "+" + plain
    elif plain.startswith("00"):
        candidate = "+" + plain[2:]
    else:
        candidate = plain
    try:
        parsed = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def external_number(raw: str | None, region: str) -> str | None:
    """An outside party's number as the call log and its callbacks store it: E.164 when
    valid, else its digits (cut to :data:`MAX_NUMBER`); None when it has no digits."""
    if not raw:
        return None
    return normalize(raw, region) or digits(raw)[:MAX_NUMBER] or None


#: longest time-zone prefix per leading digit (Russia: 4), so lookups can be cached by it
_TZ_PREFIX_LEN: dict[str, int] = {}
for _key in TIMEZONE_DATA:
    _TZ_PREFIX_LEN[_key[0]] = max(_TZ_PREFIX_LEN.get(_key[0], 0), len(_key))


@lru_cache(maxsize=16384)
def _zones_for_prefix(prefix: str) -> tuple[str, ...]:
    for size in range(len(prefix), 0, -1):
        zones = TIMEZONE_DATA.get(prefix[:size])
        if zones is not None:
            return tuple(zones)
    return ()


def time_zone_for(e164: str) -> str | None:
    """The IANA time zone of a number when phonenumbers knows exactly one, else None.

    A longest-prefix lookup in phonenumbers' time-zone table (what its geocoder does, without
    re-parsing: cheap enough for bulk imports). Mobile ranges of large countries map to many
    zones; guessing one would put call windows in the wrong hours, so those stay None.
    """
    if not e164.startswith("+") or not e164[1:].isdigit():
        return None
    size = _TZ_PREFIX_LEN.get(e164[1:2], TIMEZONE_LONGEST_PREFIX)
    zones = _zones_for_prefix(e164[1 : 1 + size])
    return zones[0] if len(zones) == 1 and zones[0] != _UNKNOWN_TZ else None


def format_international(e164: str) -> str:
    """``+74951234567`` → ``+7 495 123-45-67`` (for demo data and display)."""
    parsed = phonenumbers.parse(e164, None)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
