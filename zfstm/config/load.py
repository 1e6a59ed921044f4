"""Read the TOML configuration into a frozen :class:`~zfstm.config.model.Config`, reporting ALL problems at once.

Every problem names the file, the line and the key (``/etc/zfstm/zfstm.toml:14: targets[0].dataset: ...``):
``tomllib`` gives no positions for keys, so :mod:`zfstm.config.locate` finds them in the text. Unknown keys are
problems too (a misspelt ``quiet_perod`` must not silently fall back to a default). One :class:`ConfigError`
(exit 6) carries the whole list.

Layout (docs/configuration.md has the annotated example): top-level ``interval``, ``run_dir``, ``state_dir``;
tables ``[backend]``, ``[naming]`` (+ ``[[naming.adopt]]``), ``[hooks]``, ``[detector]``, ``[retention]`` (+
``[retention.space]``), ``[file_server]``, ``[check]``; and one ``[[targets]]`` per share, which may override
``detector``, ``retention``, ``file_server`` and ``check`` key by key in its own sub-tables.

:func:`parse_config` is pure (text, source name, platform in; Config out). :func:`load_config` reads the file and
:func:`config_path` picks it: ``--config`` > ``$ZFSTM_CONFIG`` > the platform default.
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import attrs

from zfstm.check.verdict import (
    MISSING_STATES,
    VERIFICATION_FAILED_STATES,
    Limit,
    State,
    Thresholds,
    parse_age_limit,
    parse_capacity_limit,
    parse_state,
)
from zfstm.config.locate import KeyLocator, KeyPath, format_key
from zfstm.config.model import (
    CONFIG_ENV,
    DEFAULT_HOOK_TIMEOUT,
    DEFAULT_INTERVAL,
    DEFAULT_REMEMBER,
    HOOK_PLACEHOLDERS,
    BackendChoice,
    BackendConfig,
    Config,
    FileServerConfig,
    FileServerKind,
    HooksConfig,
    NamingConfig,
    PlatformDefaults,
    ServiceAdapter,
    Target,
    platform_defaults,
)
from zfstm.errors import ConfigError, ZfstmError
from zfstm.events.model import EventsConfig, parse_listener
from zfstm.naming import DEFAULT_PATTERN, LEGACY_PATTERN, NamingScheme
from zfstm.retention.durations import parse_duration
from zfstm.retention.policy import DEFAULT_POLICY, Policy
from zfstm.retention.policy_text import policy_from_settings
from zfstm.textfile import UnreadableFile, read_small_text
from zfstm.timemachine.detector import DetectorSettings
from zfstm.timemachine.due import DuePolicy
from zfstm.volume.model import (
    ExportKind,
    VolumeExport,
    check_iqn,
    check_lun,
    check_nbd_name,
    default_iqn,
    default_nbd_name,
)
from zfstm.zfs.names import DatasetName

T = TypeVar("T")

TOP_KEYS = (
    "interval",
    "run_dir",
    "state_dir",
    "backend",
    "naming",
    "detector",
    "retention",
    "file_server",
    "check",
    "hooks",
    "events",
    "targets",
)
HOOKS_KEYS = ("after_known_good", "timeout")
EVENTS_KEYS = ("fce_listener", "settle", "min_interval", "retry_for", "silence_warning")
BACKEND_KEYS = ("kind", "prefix", "prefix_joins", "remember")
NAMING_KEYS = ("pattern", "adopt")
ADOPT_KEYS = ("pattern", "zone", "suffix")
DETECTOR_KEYS = (
    "quiet_period",
    "completion_slack",
    "clock_skew_tolerance",
    "written_noise",
    "max_interval",
    "skip_empty",
)
#: Config key -> zfstm.retention.policy_text setting.
RETENTION_KEYS = {
    "keep_all": "keep_all",
    "hourly": "hourly",
    "daily": "daily",
    "weekly": "weekly",
    "monthly": "monthly",
    "pick": "pick",
    "min_keep": "min_keep",
    "week_start": "week_start",
    "time_zone": "tz",
    "clock_tolerance": "clock_tolerance",
    "max_destroy_share": "max_destroy_share",
    "breaker_min": "breaker_min",
}
SPACE_KEYS = {"above": "space_above", "per_run": "space_per_run", "basis": "space_basis"}
RETENTION_ALLOWED = (*RETENTION_KEYS, "space")
FILE_SERVER_KEYS = ("kind", "adapter", "service", "afp_conf", "start", "program")
TARGET_KEYS = (
    "name",
    "dataset",
    "share_path",
    "cnid_dataset",
    "sparsebundles",
    "file_server",
    "retention",
    "detector",
    "check",
    "replica",
    "volume",
)
VOLUME_KEYS = ("export", "iqn", "lun", "restore_lun", "portal", "export_name", "config_dir", "pidfile")
_TARGET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_SIZE = re.compile(r"\s*([0-9]+)\s*([kmgt]?)(i?b?)\s*", re.IGNORECASE)
_NONE_WORDS = ("none", "off", "never", "no")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


@attrs.frozen
class Problem:
    """One thing wrong with the file: where (line may be unknown) and what to do."""

    key: str
    line: int | None
    message: str

    def render(self, source: str) -> str:
        where = f"{source}:{self.line}" if self.line is not None else source
        return f"{where}: {self.key}: {self.message}"


class ConfigProblems(ConfigError):
    """A configuration file with one or more problems; ``problems`` lists them all, in file order."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = tuple(sorted(problems, key=lambda p: (p.line or 0, p.key)))
        count = len(self.problems)
        lines = "\n".join("  " + problem.render(source) for problem in self.problems)
        super().__init__(
            f"configuration {source} has {count} problem{'s' if count != 1 else ''} (nothing was done); "
            f"fix {'them' if count != 1 else 'it'} and run `zfstm config check`:\n{lines}"
        )


class _Absent:
    """Marks a key that is not in the file (so its default applies)."""


ABSENT = _Absent()


@attrs.define
class _Reader:
    """Collects problems while typed getters walk the parsed document."""

    locator: KeyLocator
    problems: list[Problem] = attrs.Factory(list)

    def problem(self, path: KeyPath, message: str) -> None:
        self.problems.append(Problem(format_key(path), self.locator.line_of(path), message))

    def table(self, value: object, path: KeyPath, allowed: Sequence[str]) -> dict[str, Any]:
        """``value`` as a table with only ``allowed`` keys (unknown keys are reported); {} when absent or wrong."""
        if value is ABSENT or value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(path, f"must be a table, got {_kind(value)}")
            return {}
        for key in value:
            if key not in allowed:
                hint = _closest(key, allowed)
                self.problem((*path, key), f"unknown key{hint}; allowed here: {', '.join(allowed)}")
        return value

    def convert(self, path: KeyPath, value: object, convert: Callable[[Any], T], default: T) -> T:
        """``convert(value)``, or ``default`` after recording the problem its ValueError/ZfstmError describes."""
        if value is ABSENT:
            return default
        try:
            return convert(value)
        except (ValueError, TypeError, ZfstmError) as exc:
            self.problem(path, _message(exc))
            return default


def _message(exc: BaseException) -> str:
    text = str(exc)
    for prefix in ("retention policy: ",):
        text = text.removeprefix(prefix)
    return text


def _kind(value: object) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array"}
    return names.get(type(value), "a table" if isinstance(value, dict) else type(value).__name__)


def _closest(key: str, allowed: Sequence[str]) -> str:
    import difflib

    near = difflib.get_close_matches(key, list(allowed), n=1)
    return f" (did you mean {near[0]!r}?)" if near else ""


# -- value converters (raise ValueError with a message for people) --------------------------------------------------


def _string(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"must be a string, got {_kind(value)}")
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"must be true or false, got {_kind(value)}")
    return value


def _words(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(word, str) for word in value):
        raise TypeError('must be an array of strings, e.g. ["ssh", "backup-host"]')
    return tuple(value)


def _duration(value: object, *, allow_zero: bool = False) -> timedelta:
    if not isinstance(value, str):
        raise TypeError(f'must be a duration string such as "10m", "24h" or "31d", got {_kind(value)}')
    if allow_zero and value.strip() in {"0", "0s", "0m"}:
        return timedelta(0)
    return parse_duration(value)


def _optional_duration(value: object) -> timedelta | None:
    if isinstance(value, str) and value.strip().lower() in _NONE_WORDS:
        return None
    return _duration(value)


def parse_size(value: object) -> int:
    """Bytes from an integer or ``"1MiB"``/``"512K"``/``"2G"`` (binary units)."""
    if isinstance(value, bool):
        raise TypeError('must be a size in bytes or a string such as "1MiB"')
    if isinstance(value, int):
        if value < 0:
            raise ValueError("must not be negative")
        return value
    if isinstance(value, str):
        found = _SIZE.fullmatch(value)
        if found is not None:
            power = " kmgt".index(found.group(2).lower() or " ")
            return int(found.group(1)) * (1 << (10 * power))
    raise ValueError(f'{value!r} is not a size: write bytes (1048576) or e.g. "1MiB", "512K"')


def _choice(enum: type[T]) -> Callable[[object], T]:
    def convert(value: object) -> T:
        text = _string(value).strip().lower()
        try:
            return enum(text)  # type: ignore[call-arg]
        except ValueError:
            choices = ", ".join(member.value for member in enum)  # type: ignore[attr-defined]
            raise ValueError(f"{value!r} is not one of: {choices}") from None

    return convert


def _dataset(value: object) -> DatasetName:
    return DatasetName(_string(value).strip())


def _limit_text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f'must be a string WARNING,CRITICAL such as "2d,7d" or "80%,90%", got {_kind(value)}')
    return value


def _age_limit(value: object) -> Limit:
    return parse_age_limit(_limit_text(value))


def _capacity_limit(value: object) -> Limit:
    return parse_capacity_limit(_limit_text(value))


def _verification_state(value: object) -> State:
    return parse_state(_string(value), VERIFICATION_FAILED_STATES)


def _missing_state(value: object) -> State:
    return parse_state(_string(value), MISSING_STATES)


#: ``[check]`` key (a :class:`Thresholds` field) -> converter; the same syntax as `zfstm check`'s flags.
CHECK_KEYS: dict[str, Callable[[object], Any]] = {
    "backup_age": _age_limit,
    "snapshot_age": _age_limit,
    "known_good_age": _age_limit,
    "replication_lag": _age_limit,
    "capacity": _capacity_limit,
    "verification_failed": _verification_state,
    "missing": _missing_state,
}


def _policy_text(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TypeError(f"must be a string or a number, got {_kind(value)}")
    return str(value)


# -- sections -------------------------------------------------------------------------------------------------------


Layers = Sequence[tuple[Mapping[str, Any], KeyPath]]


def _layered(layers: Layers) -> dict[str, tuple[Any, KeyPath]]:
    """Merge tables key by key, later layers winning; each value keeps the path it was written at."""
    merged: dict[str, tuple[Any, KeyPath]] = {}
    for table, path in layers:
        for key, value in table.items():
            merged[key] = (value, (*path, key))
    return merged


def _naming(reader: _Reader, raw: object) -> NamingConfig:
    table = reader.table(raw, ("naming",), NAMING_KEYS)
    scheme = reader.convert(
        ("naming", "pattern"),
        table.get("pattern", ABSENT),
        lambda value: NamingScheme(pattern=_string(value)),
        NamingScheme(DEFAULT_PATTERN),
    )
    adopted: list[NamingScheme] = []
    entries = table.get("adopt", [])
    if not isinstance(entries, list):
        reader.problem(("naming", "adopt"), 'must be an array of tables, e.g. [[naming.adopt]] zone = "Europe/Berlin"')
        entries = []
    for index, entry in enumerate(entries):
        path: KeyPath = ("naming", "adopt", index)
        item = reader.table(entry, path, ADOPT_KEYS)
        if "zone" not in item:
            reader.problem(path, "needs zone: the IANA time zone the names were written in (e.g. Europe/Berlin)")
            continue
        pattern = reader.convert((*path, "pattern"), item.get("pattern", ABSENT), _string, LEGACY_PATTERN)
        suffix = reader.convert((*path, "suffix"), item.get("suffix", ABSENT), _boolean, True)
        zone = reader.convert((*path, "zone"), item["zone"], _string, "UTC")
        built = reader.convert(path, (pattern, zone, suffix), _adopted_scheme, None)
        if built is not None:
            adopted.append(built)
    return NamingConfig(scheme, tuple(adopted))


def _adopted_scheme(value: tuple[str, str, bool]) -> NamingScheme:
    pattern, zone, suffix = value
    return NamingScheme(pattern=pattern, zone=zone, suffix=suffix, adopted=True)


def _backend(reader: _Reader, raw: object) -> BackendConfig:
    table = reader.table(raw, ("backend",), BACKEND_KEYS)
    kind = reader.convert(("backend", "kind"), table.get("kind", ABSENT), _choice(BackendChoice), BackendChoice.AUTO)
    prefix: tuple[str, ...] = reader.convert(("backend", "prefix"), table.get("prefix", ABSENT), _words, ())
    joins = reader.convert(("backend", "prefix_joins"), table.get("prefix_joins", ABSENT), _boolean, True)
    remember = reader.convert(
        ("backend", "remember"),
        table.get("remember", ABSENT),
        lambda value: _duration(value, allow_zero=True),
        DEFAULT_REMEMBER,
    )
    if kind is BackendChoice.LZC and prefix:
        reader.problem(
            ("backend", "prefix"), 'the lzc backend talks to the local kernel; use kind = "cli" with a prefix'
        )
    return BackendConfig(kind, prefix, joins, remember)


def _hook_words(value: object) -> tuple[str, ...]:
    words = _words(value)
    if words and not words[0].strip():
        raise ValueError("the first word must name the program to run")
    for word in words:
        for name in _PLACEHOLDER.findall(word):
            if name not in HOOK_PLACEHOLDERS:
                allowed = ", ".join("{" + known + "}" for known in HOOK_PLACEHOLDERS)
                raise ValueError(f"{{{name}}} is not a placeholder zfstm fills in; use {allowed}")
    return words


def _hooks(reader: _Reader, raw: object) -> HooksConfig:
    table = reader.table(raw, ("hooks",), HOOKS_KEYS)
    command: tuple[str, ...] = reader.convert(
        ("hooks", "after_known_good"), table.get("after_known_good", ABSENT), _hook_words, ()
    )
    timeout = reader.convert(("hooks", "timeout"), table.get("timeout", ABSENT), _duration, DEFAULT_HOOK_TIMEOUT)
    return HooksConfig(command, timeout)


def _events(reader: _Reader, raw: object) -> EventsConfig:
    """The ``[events]`` table (docs/events.md)."""
    table = reader.table(raw, ("events",), EVENTS_KEYS)
    base = EventsConfig()

    def get(key: str, convert: Callable[[Any], T], default: T) -> T:
        return reader.convert(("events", key), table.get(key, ABSENT), convert, default)

    def zero_ok(value: object) -> timedelta:
        return _duration(value, allow_zero=True)

    return EventsConfig(
        fce_listener=get("fce_listener", _listener, None),
        settle=get("settle", zero_ok, base.settle),
        min_interval=get("min_interval", zero_ok, base.min_interval),
        retry_for=get("retry_for", zero_ok, base.retry_for),
        silence_warning=get("silence_warning", _duration, base.silence_warning),
    )


def _listener(value: object) -> tuple[str, int]:
    return parse_listener(_string(value))


def _detector(reader: _Reader, layers: Layers) -> tuple[DetectorSettings, DuePolicy]:
    values = _layered(layers)
    base, due = DetectorSettings(), DuePolicy()

    def get(key: str, convert: Callable[[Any], T], default: T) -> T:
        value, path = values.get(key, (ABSENT, ()))
        return reader.convert(path, value, convert, default)

    def zero_ok(value: object) -> timedelta:
        return _duration(value, allow_zero=True)

    settings = DetectorSettings(
        quiet_period=get("quiet_period", zero_ok, base.quiet_period),
        completion_slack=get("completion_slack", zero_ok, base.completion_slack),
        clock_skew_tolerance=get("clock_skew_tolerance", zero_ok, base.clock_skew_tolerance),
        written_noise_bytes=get("written_noise", parse_size, base.written_noise_bytes),
    )
    policy = DuePolicy(
        max_interval=get("max_interval", _optional_duration, due.max_interval),
        skip_empty=get("skip_empty", _boolean, due.skip_empty),
    )
    return settings, policy


def _check(reader: _Reader, layers: Layers) -> Thresholds:
    """Built-in defaults < ``[check]`` < ``[targets.check]``, key by key (`zfstm check`'s flags go over this)."""
    settings: dict[str, Any] = {}
    for key, (value, path) in _layered(layers).items():
        if key in CHECK_KEYS:
            parsed = reader.convert(path, value, CHECK_KEYS[key], None)
            if parsed is not None:
                settings[key] = parsed
    return Thresholds(**settings)


def _section(
    reader: _Reader, top: Mapping[str, Any], name: str, allowed: Sequence[str]
) -> tuple[dict[str, Any], KeyPath]:
    return reader.table(top.get(name, ABSENT), (name,), allowed), (name,)


def _retention(reader: _Reader, layers: Layers) -> Policy:
    values = _layered(layers)
    settings: dict[str, str] = {}
    paths: dict[str, KeyPath] = {}
    for key, (value, path) in values.items():
        if key not in RETENTION_KEYS:
            continue
        text = reader.convert(path, value, _policy_text, None)
        if text is None:
            continue
        setting = RETENTION_KEYS[key]
        alone = reader.convert(path, {setting: text}, policy_from_settings, None)
        if alone is not None:
            settings[setting] = text
            paths[setting] = path
    space_layers = [
        (reader.table(table.get("space", ABSENT), (*path, "space"), tuple(SPACE_KEYS)), (*path, "space"))
        for table, path in layers
    ]
    for key, (value, path) in _layered(space_layers).items():
        if key not in SPACE_KEYS:
            continue
        text = reader.convert(path, value, _policy_text, None)
        if text is not None:
            settings[SPACE_KEYS[key]] = text
            paths[SPACE_KEYS[key]] = path
    where = layers[-1][1] if layers else ("retention",)
    space_path = paths.get("space_above", (*where, "space"))
    try:
        return policy_from_settings(settings, DEFAULT_POLICY)
    except ConfigError as exc:
        reader.problem(space_path if "space" in str(exc) else where, _message(exc))
        return DEFAULT_POLICY


def _file_server(reader: _Reader, layers: Layers, defaults: PlatformDefaults, target_path: KeyPath) -> FileServerConfig:
    values = _layered(layers)

    def get(key: str, convert: Callable[[Any], T], default: T) -> T:
        value, path = values.get(key, (ABSENT, ()))
        return reader.convert(path, value, convert, default)

    kind = get("kind", _choice(FileServerKind), FileServerKind.NETATALK)
    if kind is FileServerKind.ISCSI:
        reader.problem(values["kind"][1], "an iSCSI export is configured in [targets.volume] (docs/volumes.md)")
        kind = FileServerKind.NONE
    if kind is FileServerKind.NONE:
        return FileServerConfig(FileServerKind.NONE)
    adapter = get("adapter", _choice(ServiceAdapter), defaults.adapter)
    default_service = defaults.netatalk_service if kind is FileServerKind.NETATALK else defaults.samba_service
    if adapter is not defaults.adapter or adapter is ServiceAdapter.PIDFILE:
        default_service = None
    service = get("service", _string, default_service)
    where = values.get("adapter", (None, (*target_path, "file_server")))[1]
    if service is None:
        reader.problem(
            where,
            f"a {kind.value} server managed by {adapter.value} needs service = "
            + ('"/run/netatalk.pid" (its pidfile)' if adapter is ServiceAdapter.PIDFILE else "its FMRI or unit name"),
        )
    start: tuple[str, ...] = get("start", _words, ())
    program = get("program", _string, None)
    if adapter is ServiceAdapter.PIDFILE and (not start or program is None):
        reader.problem(where, 'the pidfile adapter needs start = ["netatalk"] and program = "netatalk"')
    afp_conf = get("afp_conf", _string, defaults.afp_conf) if kind is FileServerKind.NETATALK else None
    if kind is not FileServerKind.NETATALK and "afp_conf" in values:
        reader.problem(values["afp_conf"][1], 'afp_conf only applies to kind = "netatalk"')
    return FileServerConfig(kind, adapter, service, afp_conf, start, program)


def _sparsebundles(value: object) -> tuple[str, ...] | None:
    if isinstance(value, str) and value.strip().lower() == "discover":
        return None
    names = _words(value)
    for name in names:
        if "/" in name or name in {"", ".", ".."}:
            raise ValueError(f'{name!r} must be a bundle directory name in the share, e.g. "Mac.sparsebundle"')
    return names


def _target(
    reader: _Reader, raw: object, index: int, globals_: Mapping[str, Any], defaults: PlatformDefaults
) -> Target | None:
    path: KeyPath = ("targets", index)
    table = reader.table(raw, path, TARGET_KEYS)
    if not isinstance(raw, dict):
        return None
    if "dataset" not in table:
        reader.problem(path, 'needs dataset: the ZFS dataset of the share, e.g. dataset = "tank/tm"')
        return None
    dataset = reader.convert((*path, "dataset"), table["dataset"], _dataset, None)
    if dataset is None:
        return None
    name = reader.convert((*path, "name"), table.get("name", ABSENT), _target_name, dataset.basename)
    share = reader.convert((*path, "share_path"), table.get("share_path", ABSENT), _absolute_path, None)
    cnid = reader.convert((*path, "cnid_dataset"), table.get("cnid_dataset", ABSENT), _dataset, None)
    if cnid is not None and cnid.pool != dataset.pool:
        reader.problem(
            (*path, "cnid_dataset"),
            f"{cnid} is in pool {cnid.pool}, the share {dataset} in {dataset.pool}: one atomic snapshot cannot span "
            "pools; keep the CNID database in the share's pool",
        )
    if cnid == dataset:
        reader.problem((*path, "cnid_dataset"), "must be a different dataset from the share's")
    bundles = reader.convert((*path, "sparsebundles"), table.get("sparsebundles", ABSENT), _sparsebundles, None)

    def layers(section: str, allowed: Sequence[str]) -> Layers:
        inner = reader.table(table.get(section, ABSENT), (*path, section), allowed)
        return [_section(reader, globals_, section, allowed), (inner, (*path, section))]

    retention = _retention(reader, layers("retention", RETENTION_ALLOWED))
    detector, due = _detector(reader, layers("detector", DETECTOR_KEYS))
    check = _check(reader, layers("check", tuple(CHECK_KEYS)))
    replica = reader.convert((*path, "replica"), table.get("replica", ABSENT), _boolean, False)
    if "volume" in table:
        volume = _volume(reader, table["volume"], (*path, "volume"), name)
        for key in ("share_path", "cnid_dataset", "sparsebundles", "file_server"):
            if key in table:
                reader.problem((*path, key), "a volume target has no share: leave it out (see docs/volumes.md)")
        server = FileServerConfig(FileServerKind.NONE)
        return Target(name, dataset, None, None, (), server, retention, detector, due, check, replica, volume)
    server = _file_server(reader, layers("file_server", FILE_SERVER_KEYS), defaults, path)
    return Target(name, dataset, share, cnid, bundles, server, retention, detector, due, check, replica)


def _volume(reader: _Reader, raw: object, path: KeyPath, name: str) -> VolumeExport | None:
    """``[targets.volume]``: the export of a zvol target (defaults: LIO, ``iqn.2026-12.org.zfstm:<name>``; NBD: the
    target's name as the export name, nbd-server's Debian paths)."""
    table = reader.table(raw, path, VOLUME_KEYS)

    def get(key: str, convert: Callable[[Any], T], default: T) -> T:
        return reader.convert((*path, key), table.get(key, ABSENT), convert, default)

    kind = get("export", _choice(ExportKind), ExportKind.LIO)
    iqn = get("iqn", lambda v: check_iqn(_string(v)), None)
    lun = get("lun", check_lun, 0)
    restore = get("restore_lun", check_lun, 1 if lun != 1 else 2)
    portal = get("portal", _portal, "0.0.0.0:3260")
    nbd_name = get("export_name", lambda v: check_nbd_name(_string(v)), None)
    config_dir = get("config_dir", _absolute_path, "/etc/nbd-server/conf.d")
    pidfile = get("pidfile", _absolute_path, "/var/run/nbd-server.pid")
    try:
        return VolumeExport(
            kind,
            iqn or default_iqn(name),
            lun,
            restore,
            portal,
            nbd_name or default_nbd_name(name),
            config_dir,
            pidfile,
        )
    except ValueError as exc:
        reader.problem(path, str(exc))
        return None


def _portal(value: object) -> str:
    text = _string(value)
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536 or any(c.isspace() for c in text):
        raise ValueError(f"{text!r}: a portal is ADDRESS:PORT, e.g. 0.0.0.0:3260")
    return text


def _target_name(value: object) -> str:
    text = _string(value)
    if not _TARGET_NAME.fullmatch(text):
        raise ValueError(f"{text!r}: use 1-64 letters, digits, '_', '.', '-', starting with a letter or digit")
    return text


def _absolute_path(value: object) -> str:
    text = _string(value)
    if not text.startswith("/"):
        raise ValueError(f"{text!r} must be an absolute path")
    return text


def _check_targets(reader: _Reader, targets: Sequence[tuple[int, Target]]) -> None:
    seen_names: dict[str, int] = {}
    seen_datasets: dict[str, int] = {}
    for index, target in targets:
        if target.name in seen_names:
            reader.problem(("targets", index, "name"), f"{target.name!r} is also targets[{seen_names[target.name]}]")
        seen_names.setdefault(target.name, index)
        if target.dataset.full in seen_datasets:
            other = seen_datasets[target.dataset.full]
            reader.problem(("targets", index, "dataset"), f"{target.dataset} is also the dataset of targets[{other}]")
        seen_datasets.setdefault(target.dataset.full, index)
    for index, target in targets:
        if target.cnid_dataset is not None and target.cnid_dataset.full in seen_datasets:
            reader.problem(
                ("targets", index, "cnid_dataset"),
                f"{target.cnid_dataset} is a share's dataset; the CNID database needs its own dataset",
            )


def parse_config(text: str, source: str = "<config>", *, platform: str = sys.platform) -> Config:
    """Parse and check a whole configuration; raise :class:`ConfigProblems` listing every problem."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"at line (\d+)", str(exc))
        line = int(found.group(1)) if found else None
        raise ConfigProblems(source, [Problem("(syntax)", line, f"not valid TOML: {exc}")]) from None
    except RecursionError:  # tomllib recurses per nesting level: arrays nested 500 deep
        raise ConfigProblems(source, [Problem("(syntax)", None, "arrays or tables nested too deeply")]) from None
    defaults = platform_defaults(platform)
    reader = _Reader(KeyLocator.scan(text))
    top = reader.table(document, (), TOP_KEYS)
    interval = reader.convert(("interval",), top.get("interval", ABSENT), _duration, DEFAULT_INTERVAL)
    run_dir = reader.convert(("run_dir",), top.get("run_dir", ABSENT), _absolute_path, None)
    state_dir = reader.convert(("state_dir",), top.get("state_dir", ABSENT), _absolute_path, None)
    backend = _backend(reader, top.get("backend", ABSENT))
    naming = _naming(reader, top.get("naming", ABSENT))
    hooks = _hooks(reader, top.get("hooks", ABSENT))
    # The shared sections are checked once on their own, so their problems show even when no target is valid;
    # targets read them again as their base layer (duplicate problems are dropped).
    _retention(reader, [_section(reader, top, "retention", RETENTION_ALLOWED)])
    _detector(reader, [_section(reader, top, "detector", DETECTOR_KEYS)])
    _file_server(reader, [_section(reader, top, "file_server", FILE_SERVER_KEYS)], defaults, ())
    _check(reader, [_section(reader, top, "check", tuple(CHECK_KEYS))])
    events = _events(reader, top.get("events", ABSENT))
    raw_targets = top.get("targets", ABSENT)
    targets: list[tuple[int, Target]] = []
    if raw_targets is ABSENT or raw_targets == []:
        reader.problem(("targets",), 'no targets: add at least one [[targets]] with dataset = "pool/share"')
    elif not isinstance(raw_targets, list):
        reader.problem(("targets",), "must be an array of tables: write each target as [[targets]]")
    else:
        for index, raw in enumerate(raw_targets):
            target = _target(reader, raw, index, top, defaults)
            if target is not None:
                targets.append((index, target))
    _check_targets(reader, targets)
    problems = _unique(reader.problems)
    if problems:
        raise ConfigProblems(source, problems)
    return Config(
        source=source,
        targets=tuple(target for _, target in targets),
        naming=naming,
        backend=backend,
        hooks=hooks,
        interval=interval,
        run_dir=run_dir,
        state_dir=state_dir,
        events=events,
    )


def _unique(problems: Sequence[Problem]) -> list[Problem]:
    """Global sections are read once per target; report each of their problems once."""
    return list(dict.fromkeys(problems))


def config_path(explicit: str | None, environ: Mapping[str, str], platform: str = sys.platform) -> Path:
    """``--config`` > ``$ZFSTM_CONFIG`` > the platform default (Linux /etc/zfstm, illumos /opt/zfstm/etc)."""
    if explicit:
        return Path(explicit)
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV])
    return Path(platform_defaults(platform).config_path)


def load_config(path: Path, *, platform: str = sys.platform) -> Config:
    """Read and parse the file; a missing or unreadable file is a ConfigError naming it."""
    try:
        text = read_small_text(path)
    except UnreadableFile as exc:
        if not exc.missing:
            raise ConfigProblems(str(path), [Problem("(file)", None, str(exc))]) from None
        raise ConfigProblems(
            str(path),
            [
                Problem(
                    "(file)",
                    None,
                    "does not exist; write one (`zfstm service print example-config` prints an example) or point "
                    f"--config or ${CONFIG_ENV} at it",
                )
            ],
        ) from None
    return parse_config(text, str(path), platform=platform)
