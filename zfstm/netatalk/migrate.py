"""Move a volume's CNID database onto a dataset of its own (pure: the plan and the afp.conf edit).

Why: only a database on its own dataset, snapshotted in the same transaction group as the share, comes back from a
rollback exactly as it was (paired: no scan at all). Shares set up by hand keep it at netatalk's default place or
inside the share; ``zfstm cnid migrate`` moves it, keeping every record and the counter, and points the volume's
``vol dbpath`` there. afp.conf is edited as text: one line of the volume's section is replaced or added, every other
byte (comments, order, other sections) stays.
"""

from __future__ import annotations

import attrs

from zfstm.errors import AfpConfError


def _key(line: str) -> str | None:
    """The option name of a ``key = value`` line, normalised as netatalk's iniparser does; None for anything else."""
    stripped = line.strip()
    if not stripped or stripped[0] in ";#[" or "=" not in stripped:
        return None
    return " ".join(stripped.split("=", 1)[0].split()).lower()


def _header(line: str) -> str | None:
    stripped = line.strip()
    if stripped.startswith("[") and "]" in stripped:
        return stripped[1 : stripped.index("]")].strip().lower()
    return None


def set_section_option(text: str, source: str, section: str, key: str, value: str) -> str:
    """``text`` with ``key = value`` in ``[section]``: the option's line replaced where the section has it, else a
    line added right after the section's header. Lines split on ``\\n`` only; nothing else changes."""
    lines = text.split("\n")
    wanted = section.strip().lower()
    start = next((i for i, line in enumerate(lines) if _header(line) == wanted), None)
    if start is None:
        raise AfpConfError(f"{source}: no [{section}] section to set `{key}` in (is the volume in an included file?)")
    end = next((i for i in range(start + 1, len(lines)) if _header(lines[i]) is not None), len(lines))
    new_line = f"{key} = {value}"
    found = [i for i in range(start + 1, end) if _key(lines[i]) == key]
    if found:
        if any(lines[i].rstrip().endswith("\\") for i in found):
            raise AfpConfError(f"{source}:{found[0] + 1}: `{key}` continues on the next line; edit it by hand")
        drop = set(found[1:])  # iniparser takes the last of repeated options: one line, the new value
        return "\n".join(new_line if i == found[0] else line for i, line in enumerate(lines) if i not in drop)
    return "\n".join([*lines[: start + 1], new_line, *lines[start + 1 :]])


@attrs.frozen
class MigrationPlan:
    """What ``zfstm cnid migrate`` will do, printable before anything changes."""

    target: str
    volume: str
    section: str
    afp_conf: str
    #: the share's mountpoint, watched with the old database while the file server is stopped
    share: str
    old_db_dir: str
    dataset: str
    create_dataset: bool
    mountpoint: str

    @property
    def dbpath(self) -> str:
        """The ``vol dbpath`` value: the dataset's root, so the database is ``<mountpoint>/.AppleDB``."""
        return self.mountpoint.rstrip("/") + "/"

    @property
    def new_db_dir(self) -> str:
        return self.mountpoint.rstrip("/") + "/.AppleDB"

    def steps(self) -> list[str]:
        return [
            *([f"create dataset {self.dataset} (mounted at {self.mountpoint})"] if self.create_dataset else []),
            "stop the file server; confirm nothing holds the share or the database",
            f"recover {self.old_db_dir} (apply its log), copy cnid2.db to {self.new_db_dir} and make the copy stand "
            "alone (db_load -r lsn, -r fileid); check every sub-database's item count and the counter",
            f"set `vol dbpath = {self.dbpath}` in [{self.section}] of {self.afp_conf} (a copy of the file is kept)",
            "start the file server; check that the volume's database is the new one, with the same counter",
        ]

    def to_json(self) -> dict[str, object]:
        return {**attrs.asdict(self), "dbpath": self.dbpath, "new_db_dir": self.new_db_dir, "steps": self.steps()}

    def text(self) -> str:
        lines = [
            f"zfstm cnid migrate {self.target}: volume {self.volume}",
            f"  database now: {self.old_db_dir}",
            f"  moves to:     {self.new_db_dir} (dataset {self.dataset})",
            "",
            *(f"  {i}. {step}" for i, step in enumerate(self.steps(), 1)),
            "",
            f'Afterwards add `cnid_dataset = "{self.dataset}"` to target {self.target} in the configuration, so that',
            "snapshots take both datasets in one transaction group and later rollbacks are paired. The old database",
            "stays where it is until you remove it.",
        ]
        return "\n".join(lines) + "\n"
