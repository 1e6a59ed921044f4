"""The effective configuration as a document: every default spelled out, as TOML text or JSON-ready data.

``zfstm config check`` prints it so an administrator sees what zfstm will actually do, and the document parses
back into the same :class:`~zfstm.config.model.Config` (a property test holds that): each target is written with
its full retention, detector, file-server and check settings, so the shared sections are not needed to read it
back.
Pure: values in, text out. The TOML writer covers only what this document uses (strings, numbers, booleans,
string arrays, tables and arrays of tables).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from zfstm.check.verdict import Thresholds, format_age_limit, format_capacity_limit
from zfstm.config.model import Config, FileServerConfig, HooksConfig, Target
from zfstm.events.model import EventsConfig
from zfstm.retention.durations import format_duration
from zfstm.retention.policy import Policy
from zfstm.retention.policy_text import format_limit

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def retention_document(policy: Policy) -> dict[str, Any]:
    """The policy in configuration keys (absent tiers written as ``none``)."""
    tiers = {("keep_all" if tier.unit is None else tier.name): format_limit(tier.max_age) for tier in policy.tiers}
    document: dict[str, Any] = {name: tiers.get(name, "none") for name in ("keep_all", "hourly", "daily", "weekly")}
    document["monthly"] = tiers.get("monthly", "none")
    document.update(
        pick=policy.pick.value,
        min_keep=policy.min_keep,
        week_start=policy.week_start_name,
        time_zone=policy.zone,
        clock_tolerance=format_duration(policy.clock_tolerance) if policy.clock_tolerance else "0s",
        max_destroy_share=policy.max_destroy_share,
        breaker_min=policy.breaker_min,
    )
    if policy.space is not None:
        document["space"] = {"above": policy.space.above, "per_run": policy.space.per_run, "basis": policy.space.basis}
    return document


def _duration_text(value: Any) -> str:
    return format_duration(value) if value.total_seconds() > 0 else "0s"


def file_server_document(server: FileServerConfig) -> dict[str, Any]:
    document: dict[str, Any] = {"kind": server.kind.value}
    if server.adapter is not None:
        document["adapter"] = server.adapter.value
    if server.service is not None:
        document["service"] = server.service
    if server.afp_conf is not None:
        document["afp_conf"] = server.afp_conf
    if server.start:
        document["start"] = list(server.start)
    if server.program is not None:
        document["program"] = server.program
    return document


def check_document(thresholds: Thresholds) -> dict[str, Any]:
    """The thresholds as ``[check]`` keys, in the syntax of `zfstm check`'s flags."""
    return {
        "backup_age": format_age_limit(thresholds.backup_age),
        "snapshot_age": format_age_limit(thresholds.snapshot_age),
        "known_good_age": format_age_limit(thresholds.known_good_age),
        "replication_lag": format_age_limit(thresholds.replication_lag),
        "capacity": format_capacity_limit(thresholds.capacity),
        "verification_failed": thresholds.verification_failed.name.lower(),
        "missing": thresholds.missing.name.lower(),
    }


def target_document(target: Target) -> dict[str, Any]:
    document: dict[str, Any] = {"name": target.name, "dataset": target.dataset.full}
    if target.share_path is not None:
        document["share_path"] = target.share_path
    if target.cnid_dataset is not None:
        document["cnid_dataset"] = target.cnid_dataset.full
    document["sparsebundles"] = "discover" if target.sparsebundles is None else list(target.sparsebundles)
    detector, due = target.detector, target.due
    document["detector"] = {
        "quiet_period": _duration_text(detector.quiet_period),
        "completion_slack": _duration_text(detector.completion_slack),
        "clock_skew_tolerance": _duration_text(detector.clock_skew_tolerance),
        "written_noise": detector.written_noise_bytes,
        "max_interval": "none" if due.max_interval is None else format_duration(due.max_interval),
        "skip_empty": due.skip_empty,
    }
    document["retention"] = retention_document(target.retention)
    document["file_server"] = file_server_document(target.file_server)
    document["check"] = check_document(target.check)
    if target.replica:
        document["replica"] = True
    if target.volume is not None:  # a volume target has no share: only its export
        for key in ("sparsebundles", "file_server"):
            del document[key]
        volume = target.volume
        document["volume"] = {"export": volume.kind.value, "iqn": volume.iqn, "lun": volume.lun,
                              "restore_lun": volume.restore_lun, "portal": volume.portal,
                              "export_name": volume.export_name, "config_dir": volume.config_dir,
                              "pidfile": volume.pidfile}  # fmt: skip
    return document


def events_document(events: EventsConfig) -> dict[str, Any]:
    """The ``[events]`` table (listeners only when set)."""
    document: dict[str, Any] = {}
    if events.fce_listener is not None:
        host, port = events.fce_listener
        document["fce_listener"] = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    for key in ("settle", "min_interval", "retry_for", "silence_warning"):
        document[key] = _duration_text(getattr(events, key))
    return document


def config_document(config: Config) -> dict[str, Any]:
    """Everything the configuration decides, defaults included."""
    document: dict[str, Any] = {"interval": format_duration(config.interval)}
    if config.run_dir is not None:
        document["run_dir"] = config.run_dir
    if config.state_dir is not None:
        document["state_dir"] = config.state_dir
    document["backend"] = {
        "kind": config.backend.kind.value,
        "prefix": list(config.backend.prefix),
        "prefix_joins": config.backend.prefix_joins,
        "remember": format_duration(config.backend.remember) if config.backend.remember else "0",
    }
    naming: dict[str, Any] = {"pattern": config.naming.scheme.pattern}
    if config.naming.adopted:
        naming["adopt"] = [
            {"pattern": scheme.pattern, "zone": scheme.zone, "suffix": scheme.suffix}
            for scheme in config.naming.adopted
        ]
    document["naming"] = naming
    if config.hooks != HooksConfig():
        document["hooks"] = {
            "after_known_good": list(config.hooks.after_known_good),
            "timeout": format_duration(config.hooks.timeout),
        }
    document["events"] = events_document(config.events)
    document["targets"] = [target_document(target) for target in config.targets]
    return document


def to_json(config: Config) -> str:
    return json.dumps({"source": config.source, "config": config_document(config)}, indent=2) + "\n"


# -- a small TOML writer --------------------------------------------------------------------------------------------


def _key(name: str) -> str:
    return name if _BARE_KEY.fullmatch(name) else json.dumps(name)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as a TOML value")


def _is_table(value: Any) -> bool:
    return isinstance(value, Mapping)


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(item, Mapping) for item in value)


def _write_table(lines: list[str], path: tuple[str, ...], table: Mapping[str, Any], *, array: bool = False) -> None:
    header = ".".join(_key(part) for part in path)
    if path:
        lines.append("")
        lines.append(f"[[{header}]]" if array else f"[{header}]")
    for key, value in table.items():
        if not _is_table(value) and not _is_table_array(value):
            lines.append(f"{_key(key)} = {_value(value)}")
    for key, value in table.items():
        if _is_table(value):
            _write_table(lines, (*path, key), value)
        elif _is_table_array(value):
            for item in value:
                _write_table(lines, (*path, key), item, array=True)


def to_toml(document: Mapping[str, Any]) -> str:
    """TOML text for a document of tables, arrays of tables and plain values."""
    lines: list[str] = []
    _write_table(lines, (), document)
    return "\n".join(lines).lstrip("\n") + "\n"


def render_toml(config: Config) -> str:
    return f"# effective configuration of {config.source} (all defaults spelled out)\n" + to_toml(
        config_document(config)
    )
