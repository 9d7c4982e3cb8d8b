"""Typed configuration: defaults → TOML file → ``CTI_*`` environment, validated once at start.

A wrong or unknown key fails with its dotted name; secrets are masked whenever shown.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic import ValidationError as PydanticValidationError

from cti.errors import ConfigError, FileAccessError

DEFAULT_CONFIG_FILE = "cti.toml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DialConfig(_Strict):
    """How cti places a call on one PBX (click-to-dial): the operator's phone rings first
    (``agent_channel``), and once it answers the PBX runs ``context``/number, so the outbound
    route of the site's own dialplan dials the customer."""

    #: the channel that rings the operator's phone; ``{ext}`` is the extension
    #: (``PJSIP/{ext}``, ``Local/{ext}@from-internal`` on FreePBX)
    agent_channel: str = "Local/{ext}@agents"
    #: the dialplan context the number is dialled in (the site's outbound routes)
    context: str = "outbound"
    #: how the number is written for the dialplan: ``e164-digits`` (79161110001),
    #: ``e164`` (+79161110001) or ``national`` (89161110001, the region's own dialling)
    number_format: Literal["e164-digits", "e164", "national"] = "e164-digits"
    #: put before the number (an outside-line ``9``, a trunk prefix)
    prefix: str = Field(default="", max_length=16, pattern=r"^[0-9*#]*$")
    #: how long the operator's phone may ring before the attempt is given up
    ring_seconds: float = Field(default=30.0, gt=0, le=600)

    @field_validator("agent_channel")
    @classmethod
    def _one_ext_placeholder(cls, value: str) -> str:
        rest = value.replace("{ext}", "")
        if "{ext}" not in value or "{" in rest or "}" in rest:
            raise ValueError("must contain {ext} (the extension) and no other {…}")
        return value

    @field_validator("context")
    @classmethod
    def _plain_context(cls, value: str) -> str:
        if not re.fullmatch(r"[\w.\-]{1,79}", value):
            raise ValueError("must be a dialplan context name (letters, digits, _ . -)")
        return value


class PbxConfig(_Strict):
    """One Asterisk server reached over AMI."""

    #: the Asterisk host (its manager.conf ``bindaddr``)
    host: str = "127.0.0.1"
    #: the AMI port (manager.conf ``port``)
    port: int = Field(default=5038, ge=1, le=65535)
    #: the AMI user (``cti ami manager-conf`` writes its block)
    username: str = "cti"
    #: the AMI user's password
    secret: SecretStr = SecretStr("")
    #: dialplan contexts whose calls are inbound (from trunks); empty = classify by number
    inbound_contexts: tuple[str, ...] = ()
    #: regexes on channel names that are trunks (external parties)
    trunk_patterns: tuple[str, ...] = ()
    #: regexes on channel names that are agent phones
    agent_patterns: tuple[str, ...] = ()
    #: numbers of at most this many digits are internal extensions
    internal_max_digits: int = Field(default=6, ge=1, le=15)
    #: at login, narrow the AMI session to the events cti uses (the ``Filter`` action; needs
    #: ``write = system``, else the filters of ``cti ami manager-conf`` belong in manager.conf)
    event_filter: bool = True
    #: seconds between pings; a ping unanswered for as long drops and reconnects
    ping_interval: float = Field(default=20.0, gt=0)
    #: seconds before the first reconnect; each failure doubles the wait …
    reconnect_min: float = Field(default=1.0, gt=0)
    #: … up to this many seconds
    reconnect_max: float = Field(default=60.0, gt=0)
    #: click-to-dial on this PBX (``[pbx.NAME.dial]``)
    dial: DialConfig = DialConfig()

    @field_validator("trunk_patterns", "agent_patterns")
    @classmethod
    def _regexes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for index, pattern in enumerate(value):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"item {index}: bad regex {pattern!r}: {exc}") from None
        return value

    @classmethod
    def from_url(cls, url: str, **extra: Any) -> PbxConfig:
        """Parse ``ami://user:secret@host:port``."""
        parts = urlsplit(url)
        if parts.scheme != "ami" or not parts.hostname:
            raise ValueError("expected ami://user:secret@host:port")
        return cls(
            host=parts.hostname,
            port=parts.port or 5038,
            username=unquote(parts.username or ""),
            secret=SecretStr(unquote(parts.password or "")),
            **extra,
        )


class HttpConfig(_Strict):
    """Where the web API, WebSockets and pages listen (one port for all)."""

    #: the listen address (``0.0.0.0``: every interface; behind a proxy keep ``127.0.0.1``)
    host: str = "127.0.0.1"
    #: the listen port (0: any free port)
    port: int = Field(default=8080, ge=0, le=65535)
    #: reverse proxies (addresses or networks) whose ``X-Forwarded-For`` names the client;
    #: empty: the client is the TCP peer (never believe that header from anyone else)
    trusted_proxies: tuple[str, ...] = ()

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for net in value:
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError:
                raise ValueError(f"not an address or network: {net!r}") from None
        return value


class PhoneConfig(_Strict):
    """How phone numbers are read and matched to contacts."""

    #: ISO region used to read numbers written without a country code
    default_region: str = "RU"
    #: how many trailing digits are indexed for partial caller-ID matches
    tail_digits: int = Field(default=7, ge=4, le=12)

    @field_validator("default_region")
    @classmethod
    def _region(cls, value: str) -> str:
        import phonenumbers

        value = value.upper()
        if value not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown region {value!r}")
        return value


class AuthConfig(_Strict):
    """Logins, sessions and their limits (``docs/security.md``)."""

    #: hours a login's session token stays valid
    token_ttl_hours: float = Field(default=12.0, gt=0)
    #: failed logins allowed per username and client address within the window …
    login_failures: int = Field(default=5, ge=1, le=10_000)
    #: … per client address over all usernames (password spraying) …
    login_failures_per_address: int = Field(default=50, ge=1, le=100_000)
    #: … per username over all addresses (a guess spread over many addresses) …
    login_failures_per_account: int = Field(default=20, ge=1, le=100_000)
    #: … and, for a browser that logged in as the user before, per user and device (it is
    #: not held back by the three limits above: see cti/web/login_throttle.py)
    device_failures: int = Field(default=5, ge=1, le=10_000)
    #: the window (minutes) the failed logins above are counted in
    login_window_minutes: float = Field(default=15.0, gt=0, le=10_080)
    #: password checks (argon2id, 64 MiB each) running at once …
    max_concurrent_logins: int = Field(default=2, ge=1, le=64)
    #: … and logins that may wait for one; past that a login gets 503 at once
    max_waiting_logins: int = Field(default=32, ge=0, le=10_000)
    #: live WebSocket connections one user may hold; one more closes their oldest
    max_sockets_per_user: int = Field(default=10, ge=1, le=1000)
    #: seconds between checks of every live socket's token against the store (a session
    #: ended on another daemon ends here within this time; on this daemon: at once)
    session_sweep_seconds: float = Field(default=30.0, gt=0, le=3600)


class SlaTarget(_Strict):
    """Hours allowed for the first response and for the resolution of a ticket."""

    #: hours until the first response is due
    first_response_hours: float = Field(gt=0)
    #: hours until the ticket is due resolved
    resolution_hours: float = Field(gt=0)


def _default_sla() -> dict[str, SlaTarget]:
    return {
        "urgent": SlaTarget(first_response_hours=1, resolution_hours=4),
        "high": SlaTarget(first_response_hours=4, resolution_hours=24),
        "normal": SlaTarget(first_response_hours=8, resolution_hours=72),
        "low": SlaTarget(first_response_hours=24, resolution_hours=120),
    }


class CallLogConfig(_Strict):
    """The call log journal: finished calls on local disk until the store has them."""

    #: folder of the journal; empty: next to a SQLite file (``<db>.calls-journal``), else
    #: ``./cti-calls-journal`` (give each daemon its own)
    journal_dir: str = ""
    #: unstored calls kept on disk at most (a store outage of days); past it each call is
    #: logged in full at ERROR and kept in memory
    journal_max_mb: int = Field(default=1024, ge=1, le=1 << 20)


class RecordingsConfig(_Strict):
    """Where call recordings are read from (``[recordings]``; ``docs/call-history.md``).

    A call's recording is the file its record names (the dialplan's ``MixMonitor()``, seen
    as the channel variable ``MIXMONITOR_FILENAME``); it is served only from inside ``dir``.
    """

    #: the folder holding the recordings (a copy or a mount of the PBX's); empty: no
    #: recordings are served
    dir: str = ""
    #: the PBX's own recordings folder: a recorded path under it is read from the same place
    #: under ``dir`` (``/var/spool/asterisk/monitor/2026/x.wav`` → ``<dir>/2026/x.wav``)
    pbx_dir: str = "/var/spool/asterisk/monitor"


class ExportsConfig(_Strict):
    """Exports of the call history (``[exports]``): their download links."""

    #: seconds a download link stays valid (it is used once, by the browser, at once)
    link_seconds: float = Field(default=60.0, gt=0, le=3600)


class DialerConfig(_Strict):
    """How this daemon's dialer runs campaigns (``[dialer]``; the campaign files say how
    each campaign dials): its rhythm, and when it gives up waiting for the PBX."""

    #: seconds between pacing rounds
    tick_seconds: float = Field(default=1.0, gt=0, le=60)
    #: a call claimed and not confirmed as sent after this long failed (a crash, a hang);
    #: it is retried later, never resent
    claim_timeout_seconds: float = Field(default=60.0, ge=5, le=3600)
    #: a call sent and neither answered nor failed this long after its ring time failed
    dial_margin_seconds: float = Field(default=30.0, ge=1, le=3600)
    #: an answered campaign call still up after this long lost its end (the daemon was
    #: down when it ended): it is closed (answered if an agent took it, else abandoned)
    max_call_seconds: float = Field(default=14400.0, ge=10, le=86400)
    #: a preview neither dialled nor skipped this long goes back to the list
    preview_timeout_seconds: float = Field(default=1800.0, ge=10, le=86400)


class AgiConfig(_Strict):
    """The FastAGI server for keypad surveys (``[agi]``, ``docs/keypad-surveys.md``): Asterisk's
    ``AGI(agi://HOST:PORT/SCRIPT,CAMPAIGN,LANGUAGE,LINKEDID,ATTEMPT)`` connects here and the
    caller answers on the keypad. It writes answers, so only the PBXes in ``allowed_peers``
    may connect."""

    #: run the FastAGI server inside the daemon
    enabled: bool = False
    #: the listen address (keep ``127.0.0.1`` when Asterisk runs on this host)
    host: str = "127.0.0.1"
    #: the listen port (4573 is FastAGI's own; 0: any free port)
    port: int = Field(default=4573, ge=0, le=65535)
    #: PBX addresses or networks allowed to connect; any other peer is dropped at once
    #: (and logged once per address)
    allowed_peers: tuple[str, ...] = ("127.0.0.1", "::1")
    #: calls served at once; one more is refused (Asterisk's AGI() then returns FAILURE)
    max_sessions: int = Field(default=200, ge=1, le=10_000)
    #: seconds a peer may take to send its whole variable block after connecting
    env_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    #: bytes the variable block may take (Asterisk sends ~600 with two arguments)
    max_env_bytes: int = Field(default=16_384, ge=1024, le=1 << 20)
    #: lines the variable block may have
    max_env_lines: int = Field(default=200, ge=30, le=1000)
    #: seconds a quick command (ANSWER, HANGUP, VERBOSE) may wait for its reply
    command_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    #: seconds one prompt file may play before the PBX is taken for silent and dropped
    prompt_timeout_seconds: float = Field(default=120.0, gt=0, le=3600)
    #: seconds a whole survey call may last; past it the call is ended as partial
    max_call_seconds: float = Field(default=1800.0, ge=10, le=86_400)
    #: the sound played when the script in the AGI URL is unknown, before hanging up
    unknown_script_prompt: str = "ss-noservice"
    #: the dialplan application that speaks a question's text where a site has a TTS
    #: engine (``Festival``, ``MRCPSynth``); empty: questions are sound files only
    tts_application: str = ""

    @field_validator("allowed_peers")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for net in value:
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError:
                raise ValueError(f"not an address or network: {net!r}") from None
        return value

    @field_validator("unknown_script_prompt")
    @classmethod
    def _sound(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_\-./]{1,128}", value) or ".." in value:
            raise ValueError("must be a sound file name (letters, digits, _ - . /)")
        return value

    @field_validator("tts_application")
    @classmethod
    def _application(cls, value: str) -> str:
        if value and not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,63}", value):
            raise ValueError("must be a dialplan application name (letters, digits, _)")
        return value


class ReportsConfig(_Strict):
    """How the reports count (``[reports]``; docs/reports.md names each definition)."""

    #: the time zone a report uses when none is asked for (an IANA name)
    timezone: str = "UTC"
    #: a caller gone within this many seconds of joining a queue is a short abandon,
    #: reported apart and left out of the abandon rate
    short_abandon_seconds: float = Field(default=5.0, ge=0, le=600)
    #: the service level's threshold: answered within this many seconds of waiting
    service_level_seconds: float = Field(default=20.0, gt=0, le=3600)
    #: its denominator: ``offered`` (every call offered), ``answered``,
    #: ``offered-no-short`` (offered less short abandons), ``answered-and-late-abandons``
    #: (answered plus calls abandoned after the threshold)
    service_level_variant: Literal[
        "offered", "answered", "offered-no-short", "answered-and-late-abandons"
    ] = "offered-no-short"
    #: seconds of wrap-up after each call ended on an agent's phone (the queues' own
    #: ``wrapuptime``); 0: only the operator page's wrap-up (until the disposition) counts
    wrap_up_seconds: float = Field(default=0.0, ge=0, le=3600)
    #: the working hours the ticket SLA clock runs in, per weekday (``mon`` … ``sun``:
    #: ``"09:00-18:00"``; a day left out is not worked); empty: the clock always runs
    business_hours: dict[str, str] = Field(default_factory=dict)
    #: days the SLA clock stops (``YYYY-MM-DD``), in ``business_timezone``
    holidays: tuple[str, ...] = ()
    #: the time zone of the business hours and holidays (an IANA name)
    business_timezone: str = "UTC"

    @field_validator("timezone", "business_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}: use an IANA name") from None
        return value

    @field_validator("business_hours")
    @classmethod
    def _hours(cls, value: dict[str, str]) -> dict[str, str]:
        from cti.reports.calendar import parse_hours

        parse_hours(value)
        return value

    @field_validator("holidays")
    @classmethod
    def _holidays(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from datetime import date

        for day in value:
            try:
                date.fromisoformat(day)
            except ValueError:
                raise ValueError(f"holiday {day!r}: use YYYY-MM-DD") from None
        return value


class LogConfig(_Strict):
    """What the logs may hold (``[log]``); see docs/security.md, "Logs"."""

    #: log each SQL statement's parameters and result rows at DEBUG (passwords hashes, token
    #: hashes, personal data): for a developer's own database only; off, statements are
    #: logged without them at any level
    sql_parameters: bool = False


class CrmConfig(_Strict):
    """The deal pipeline (ordered stages) and the ticket SLA policy per priority."""

    #: the open stages of a deal, in order (won and lost close it from any stage)
    pipeline: tuple[str, ...] = ("lead", "qualified", "proposal", "negotiation")
    #: the SLA per ticket priority (``[crm.sla.PRIORITY]``, every priority at once)
    sla: dict[str, SlaTarget] = Field(default_factory=_default_sla)

    @field_validator("pipeline")
    @classmethod
    def _pipeline(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value or len(set(value)) != len(value) or not all(s.strip() for s in value):
            raise ValueError("needs at least one stage, all distinct and non-empty")
        return value

    @field_validator("sla")
    @classmethod
    def _sla(cls, value: dict[str, SlaTarget]) -> dict[str, SlaTarget]:
        from cti.crm_store.rules.sla import TICKET_PRIORITIES

        if set(value) != set(TICKET_PRIORITIES):
            raise ValueError(f"needs exactly the priorities {', '.join(TICKET_PRIORITIES)}")
        return value


#: the database URLs cti speaks (SQLAlchemy's async drivers it ships with)
DATABASE_SCHEMES = ("sqlite+aiosqlite", "postgresql+asyncpg")
URL_FORMS = "sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER:PASSWORD@HOST:PORT/DB"


class Settings(_Strict):
    """Everything ``cti`` reads at start (``docs/configuration.md`` is generated from it)."""

    #: the CRM store: ``sqlite+aiosqlite:///PATH`` or
    #: ``postgresql+asyncpg://USER:PASSWORD@HOST:PORT/DB``
    database_url: SecretStr = SecretStr("sqlite+aiosqlite:///cti.db")
    http: HttpConfig = HttpConfig()
    phone: PhoneConfig = PhoneConfig()
    auth: AuthConfig = AuthConfig()
    crm: CrmConfig = CrmConfig()
    calllog: CallLogConfig = CallLogConfig()
    recordings: RecordingsConfig = RecordingsConfig()
    exports: ExportsConfig = ExportsConfig()
    #: the PBXes, one ``[pbx.NAME]`` table each (NAME is yours: ``main``, ``branch2``)
    pbx: dict[str, PbxConfig] = Field(default_factory=dict)
    #: the log level: ``DEBUG``, ``INFO``, ``WARNING``, ``ERROR`` or ``CRITICAL``
    log_level: str = "INFO"
    log: LogConfig = LogConfig()
    dialer: DialerConfig = DialerConfig()
    agi: AgiConfig = AgiConfig()
    reports: ReportsConfig = ReportsConfig()
    #: seconds between the daemon's full garbage-collector sweeps (``cti.runtime``); in
    #: between, survivors are frozen so collections stay short; 0 = CPython's default GC
    gc_sweep_every: float = Field(default=600.0, ge=0)

    @field_validator("database_url")
    @classmethod
    def _database_scheme(cls, value: SecretStr) -> SecretStr:
        # the message shows the scheme only: the rest may hold a password
        url = value.get_secret_value()
        scheme = url.partition("://")[0] if "://" in url else ""
        if scheme not in DATABASE_SCHEMES:
            shown = f"unsupported database {scheme!r}" if scheme else "not a database URL"
            raise ValueError(f"{shown}: use {URL_FORMS}")
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        if value.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError(f"unknown level {value!r}: use DEBUG, INFO, WARNING or ERROR")
        return value

    @property
    def db_url(self) -> str:
        return self.database_url.get_secret_value()

    def masked(self) -> dict[str, Any]:
        """The settings as plain data with every secret (and URL password) masked."""
        data = self.model_dump(mode="json")
        data["database_url"] = mask_url(self.db_url)
        for pbx in data.get("pbx", {}).values():
            pbx["secret"] = "***" if pbx.get("secret") else ""
        return data


def mask_url(url: str) -> str:
    """Hide the password part of a URL (``scheme://user:***@host``)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


_ENV_KEYS: dict[str, tuple[str, ...]] = {
    "CTI_DATABASE_URL": ("database_url",),
    "CTI_HTTP_HOST": ("http", "host"),
    "CTI_HTTP_PORT": ("http", "port"),
    "CTI_PHONE_REGION": ("phone", "default_region"),
    "CTI_LOG_LEVEL": ("log_level",),
    "CTI_LOG_SQL_PARAMETERS": ("log", "sql_parameters"),
    "CTI_GC_SWEEP_EVERY": ("gc_sweep_every",),
    "CTI_CALLLOG_JOURNAL_DIR": ("calllog", "journal_dir"),
    "CTI_AGI_ENABLED": ("agi", "enabled"),
    "CTI_AGI_HOST": ("agi", "host"),
    "CTI_AGI_PORT": ("agi", "port"),
}


def env_names() -> dict[str, str]:
    """The environment variable of each dotted settings key (``http.port`` → ``CTI_HTTP_PORT``)."""
    return {".".join(path): name for name, path in _ENV_KEYS.items()}


def _deep_set(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        data = data.setdefault(key, {})
    data[path[-1]] = value


def load_settings(
    config_file: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Build the settings from defaults, an optional TOML file and the environment.

    Raises :class:`ConfigError` naming the offending key and where its value came from
    (``config: http.port (from CTI_HTTP_PORT): not an integer``), or
    :class:`FileAccessError` when the file cannot be read.
    """
    env = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    path: Path | None = Path(config_file) if config_file else None
    if path is None and Path(DEFAULT_CONFIG_FILE).is_file():
        path = Path(DEFAULT_CONFIG_FILE)
    if path is not None:
        data = _read_file(path)
    #: key path → the environment variable that set it (the file set the rest)
    sources: dict[tuple[str, ...], str] = {}
    for name, key_path in _ENV_KEYS.items():
        if name in env:
            _deep_set(data, key_path, env[name])
            sources[key_path] = name
    if "CTI_AMI_URL" in env:
        try:
            pbx = PbxConfig.from_url(env["CTI_AMI_URL"])
        except (ValueError, PydanticValidationError) as exc:
            msg = f"config: pbx.default (from CTI_AMI_URL): {_short(exc)}"
            raise ConfigError(msg, details={"key": "CTI_AMI_URL"}) from None
        pbx_data = pbx.model_dump()
        pbx_data["secret"] = pbx.secret
        data.setdefault("pbx", {})["default"] = pbx_data
        sources["pbx", "default"] = "CTI_AMI_URL"
    for name, pbx_data in list(data.get("pbx", {}).items()):
        if isinstance(pbx_data, dict) and "url" in pbx_data:
            url = pbx_data.pop("url")
            try:
                base = PbxConfig.from_url(url)
            except (ValueError, PydanticValidationError) as exc:
                key = f"pbx.{name}.url"
                msg = f"config: {key}{_source(path)}: {_short(exc)}"
                raise ConfigError(msg, details={"key": key}) from None
            merged = {**base.model_dump(), "secret": base.secret, **pbx_data}
            data["pbx"][name] = merged
    try:
        return Settings.model_validate(data)
    except PydanticValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(str(p) for p in err["loc"])
        key = ".".join(loc)
        env_name = next(
            (sources[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in sources), None
        )
        source = f" (from {env_name})" if env_name else _source(path)
        msg = f"config: {key}{source}: {_short(exc)}"
        details = {"key": key, **({"env": env_name} if env_name else {})}
        raise ConfigError(msg, details=details) from None


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        msg = f"config file {path}: not found: create it, or give another with --config"
        raise FileAccessError(msg, details={"file": str(path)}) from None
    except IsADirectoryError:
        msg = f"config file {path}: is a folder: give the TOML file with --config"
        raise FileAccessError(msg, details={"file": str(path)}) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        msg = f"config file {path}: cannot read it ({reason}): fix its permissions or --config"
        raise FileAccessError(msg, details={"file": str(path)}) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"config file {path}: not valid TOML: {exc}"
        raise ConfigError(msg, details={"file": str(path)}) from None


def _source(path: Path | None) -> str:
    return f" (from {path})" if path is not None else ""


#: pydantic's wording → ours, for the errors a hand-written value makes most often
_SHORT = {
    "int_parsing": "not an integer",
    "int_from_float": "not an integer",
    "float_parsing": "not a number",
    "bool_parsing": "not true or false",
    "string_type": "not a string",
    "extra_forbidden": "unknown key (see cti config show for the keys there are)",
    "missing": "missing",
    "greater_than": "must be more than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
}


def _short(exc: Exception) -> str:
    if isinstance(exc, PydanticValidationError):
        err = exc.errors()[0]
        short = _SHORT.get(err["type"])
        if short is not None:
            return short.format(**err.get("ctx", {}))
        text = str(err["msg"]).removeprefix("Value error, ")
        return text[:1].lower() + text[1:]
    return str(exc)
