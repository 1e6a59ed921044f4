"""afp.conf (netatalk 3 and 4): the INI syntax, variable expansion, and the volumes zfstm cares about.

Parsing follows netatalk's iniparser (``libatalk/iniparser``): ``[section]`` lines, ``key = value`` with the first
``=`` significant, whole-line comments starting with ``;`` or ``#``, an unquoted value ends at the first ``;`` or
``#``, a value in single or double quotes is taken verbatim, a line ending in ``\\`` continues on the next, and
``include = FILE`` splices one more file in place (no nesting). Section and key names are compared without regard
to case (netatalk 4's iniparser lower-cases both).

Volumes follow ``creatvol``/``readvolfile`` in ``libatalk/util/netatalk_conf.c``: every section except [Global] and
[Homes] with a ``path`` is a volume, named by its ``volume name`` option or else after its section in lower case
(netatalk 4.2.3 links the system iniparser, which lower-cases section names: ``[TM]`` is served as ``tm``).
Options come from the section, then from its ``vol preset`` section (or the global ``vol preset``); ``vol dbpath``
may also be global (without ``$`` it means ``<it>/<volume>/``); ``vol dbnest`` is global only and puts the database
inside the volume. The database itself lives in ``<dbpath>/.AppleDB``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import PurePosixPath

import attrs

from zfstm.errors import AfpConfError
from zfstm.textfile import split_lines

GLOBAL = "global"
HOMES = "homes"
DEFAULT_STATEDIR = "/var/lib/netatalk/"
DEFAULT_CNID_SCHEME = "dbd"
DEFAULT_CNID_SERVER = "localhost:4700"
APPLEDB = ".AppleDB"
#: Variables that only have a value inside an AFP session (a logged-in user or a client address).
SESSION_VARIABLES = frozenset({"$u", "$f", "$g", "$c", "$i"})


@attrs.frozen
class IniOption:
    key: str
    value: str
    file: str
    line: int


@attrs.frozen
class IniSection:
    """One section; ``key`` is the lower-cased name used for lookups, ``name`` the name as written first."""

    name: str
    key: str
    file: str
    line: int
    options: tuple[IniOption, ...]

    def get(self, key: str) -> IniOption | None:
        found = None
        for option in self.options:
            if option.key == key:
                found = option  # the last assignment wins, as in netatalk
        return found


@attrs.frozen
class IniDocument:
    source: str
    sections: tuple[IniSection, ...]

    def section(self, name: str) -> IniSection | None:
        key = name.strip().lower()
        return next((s for s in self.sections if s.key == key), None)

    def get(self, section: str, key: str) -> str | None:
        sec = self.section(section)
        option = sec.get(key) if sec else None
        return option.value if option else None


def _split_value(raw: str) -> str:
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] in "'\"" and raw[-1] == raw[0]:
        return raw[1:-1]
    for i, ch in enumerate(raw):
        if ch in ";#":
            return raw[:i].strip()
    return raw


def _logical_lines(text: str) -> Iterable[tuple[int, str]]:
    """Join continuation lines; yield (number of the first physical line, text)."""
    pending = ""
    start = 0
    for number, line in enumerate(split_lines(text), start=1):
        stripped = line.rstrip()
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1]
            continue
        yield start, pending + stripped
        pending = ""
    if pending:
        yield start, pending


def parse_ini(text: str, source: str, read_include: Callable[[str], str] | None = None) -> IniDocument:
    """Parse afp.conf text. ``read_include`` returns the text of an included file (shell callback); without it an
    ``include`` is an error. Errors name the file and line."""
    order: list[str] = []
    heads: dict[str, tuple[str, str, int]] = {}
    options: dict[str, list[IniOption]] = {}
    current = ""

    def feed(body: str, file: str, nested: bool) -> None:
        nonlocal current
        for number, line in _logical_lines(body):
            text_ = line.strip()
            if not text_ or text_[0] in ";#":
                continue
            if text_.startswith("["):
                if not text_.endswith("]") or not text_[1:-1].strip():
                    raise AfpConfError(f"{file}:{number}: malformed section header {text_!r}")
                name = text_[1:-1].strip()
                if ":" in name:
                    raise AfpConfError(f"{file}:{number}: section name {name!r} must not contain ':'")
                current = name.lower()
                if current not in heads:
                    heads[current] = (name, file, number)
                    order.append(current)
                continue
            key, sep, value = text_.partition("=")
            key = " ".join(key.split()).lower()
            if not sep or not key:
                raise AfpConfError(f"{file}:{number}: expected 'key = value' or '[section]', got {text_[:60]!r}")
            value = _split_value(value)
            if key == "include":
                if nested:
                    raise AfpConfError(f"{file}:{number}: nested include of {value!r} (netatalk supports one level)")
                if read_include is None:
                    raise AfpConfError(f"{file}:{number}: include of {value!r} but no way to read it")
                try:
                    included = read_include(value)
                except OSError as exc:
                    raise AfpConfError(f"{file}:{number}: cannot read included file {value!r}: {exc}") from exc
                feed(included, value, True)
                continue
            if current not in heads:
                heads[current] = ("", file, number)
                order.append(current)
            options.setdefault(current, []).append(IniOption(key=key, value=value, file=file, line=number))

    feed(text, source, False)
    sections = tuple(
        IniSection(name=heads[k][0], key=k, file=heads[k][1], line=heads[k][2], options=tuple(options.get(k, [])))
        for k in order
    )
    return IniDocument(source=source, sections=sections)


def parse_bool(value: str | None, default: bool) -> bool:
    """netatalk's rule: the first character decides (y/t/1 true, n/f/0 false), anything else is the default."""
    if not value:
        return default
    if value[0] in "yYtT1":
        return True
    if value[0] in "nNfF0":
        return False
    return default


@attrs.frozen
class Expansion:
    """A string after netatalk's variable substitution, and the session-only variables it still contains."""

    text: str
    unresolved: tuple[str, ...]


def expand(text: str, *, path: str | None, volname: str | None, hostname: str, user: str | None = None) -> Expansion:
    """Substitute netatalk's variables as the afpd master (no AFP session) does: ``$v`` volume name (or basename of
    ``path``), ``$b`` basename of ``path``, ``$d`` ``path``, ``$h``/``$s`` host name, ``$$`` dollar; ``$u`` only if
    ``user`` is given. Session variables stay as written and are reported; unknown ones stay as written."""
    out: list[str] = []
    unresolved: list[str] = []
    base = PurePosixPath(path).name or path if path else None
    i = 0
    while i < len(text):
        j = text.find("$", i)
        if j < 0 or j + 1 >= len(text):
            out.append(text[i:])
            break
        out.append(text[i:j])
        var = text[j : j + 2]
        value: str | None
        if var == "$v":
            value = volname if volname else (base or "")
        elif var == "$b":
            value = base or ""
        elif var == "$d":
            value = path or ""
        elif var in ("$h", "$s"):
            value = hostname
        elif var == "$$":
            value = "$"
        elif var == "$u" and user:
            value = user
        else:
            value = var
            if var in SESSION_VARIABLES:
                unresolved.append(var)
        out.append(value)
        i = j + 2
    return Expansion(text="".join(out), unresolved=tuple(dict.fromkeys(unresolved)))


@attrs.frozen
class Volume:
    """One AFP volume as netatalk sets it up. ``db_dir`` is the ``.AppleDB`` directory holding cnid2.db."""

    name: str
    section: str
    path: str
    db_dir: str
    db_nested: bool
    cnid_scheme: str
    cnid_dev: bool
    cnid_server: str
    time_machine: bool
    vol_size_limit_mib: int | None
    appledouble: str
    ea: str
    file: str
    line: int
    unresolved: tuple[str, ...] = ()

    @property
    def uses_cnid_database(self) -> bool:
        """dbd keeps a database that must survive a rollback; 'last' keeps nothing on disk."""
        return self.cnid_scheme == "dbd"


@attrs.frozen
class AfpConf:
    source: str
    volumes: tuple[Volume, ...]
    has_homes: bool
    document: IniDocument

    def volume(self, name: str) -> Volume | None:
        return next((v for v in self.volumes if v.name == name), None) or next(
            (v for v in self.volumes if v.name.lower() == name.lower() or v.section.lower() == name.lower()), None
        )


def _size_limit(value: str | None) -> int | None:
    if value is None:
        return None
    digits = ""
    for ch in value.strip():
        if not ch.isdigit():
            break
        digits += ch
    return int(digits) if digits else 0


def volumes_from(
    doc: IniDocument, *, statedir: str = DEFAULT_STATEDIR, hostname: str = "localhost", lower_names: bool = True
) -> AfpConf:
    """The volumes of a parsed afp.conf. ``lower_names``: netatalk 4 names a volume without ``volume name`` after its
    lower-cased section (seen: ``[TM]`` is served as ``tm``); netatalk 3 kept the case as written."""
    glob = doc.section(GLOBAL)
    default_preset = glob.get("vol preset") if glob else None
    dbnest = parse_bool(doc.get(GLOBAL, "vol dbnest"), False)
    global_dbpath = doc.get(GLOBAL, "vol dbpath")
    global_cnid_server = doc.get(GLOBAL, "cnid server") or DEFAULT_CNID_SERVER
    volumes: list[Volume] = []
    for sec in doc.sections:
        if sec.key in (GLOBAL, HOMES, ""):
            continue
        path_opt = sec.get("path")
        if path_opt is None:
            continue  # a preset or an incomplete section: netatalk skips it too
        preset_opt = sec.get("vol preset") or default_preset
        preset = doc.section(preset_opt.value) if preset_opt else None

        def opt(key: str, sec: IniSection = sec, preset: IniSection | None = preset) -> str | None:
            found = sec.get(key) or (preset.get(key) if preset else None)
            return found.value if found else None

        where = f"{path_opt.file}:{path_opt.line}"
        path_x = expand(path_opt.value, path=None, volname=None, hostname=hostname)
        path = path_x.text
        if not path.startswith("/") and not path_x.unresolved:
            raise AfpConfError(f"{where}: volume [{sec.name}] path {path!r} is not absolute")
        # netatalk 4: `volume name`, else the section name in lower case (netatalk 3: the section as written).
        raw_name = opt("volume name") or (sec.key if lower_names else sec.name)
        name = expand(raw_name, path=path, volname=None, hostname=hostname).text
        if ":" in name:
            raise AfpConfError(f"{where}: volume name {name!r} must not contain ':'")
        tmpname = name.replace("/", ":")
        if dbnest:
            dbpath = path
        else:
            val = opt("vol dbpath")
            if val is None and global_dbpath is not None:
                val = global_dbpath if "$" in global_dbpath else f"{global_dbpath}/{tmpname}/"
            if val is None:
                val = f"{statedir.rstrip('/')}/CNID/{tmpname}/"
            dbpath_x = expand(val, path=None, volname=tmpname, hostname=hostname)
            dbpath = dbpath_x.text
            path_x = Expansion(path, tuple(dict.fromkeys(path_x.unresolved + dbpath_x.unresolved)))
        db_dir = str(PurePosixPath(dbpath) / APPLEDB)
        volumes.append(
            Volume(
                name=name,
                section=sec.name,
                path=str(PurePosixPath(path)) if path else path,
                db_dir=db_dir,
                db_nested=dbnest,
                cnid_scheme=opt("cnid scheme") or DEFAULT_CNID_SCHEME,
                cnid_dev=parse_bool(opt("cnid dev"), True),
                cnid_server=opt("cnid server") or global_cnid_server,
                time_machine=parse_bool(opt("time machine"), False),
                vol_size_limit_mib=_size_limit(opt("vol size limit")),
                appledouble=opt("appledouble") or "ea",
                ea=opt("ea") or "auto",
                file=path_opt.file,
                line=path_opt.line,
                unresolved=path_x.unresolved,
            )
        )
    return AfpConf(source=doc.source, volumes=tuple(volumes), has_homes=doc.section(HOMES) is not None, document=doc)


def parse_afp_conf(
    text: str,
    source: str,
    *,
    read_include: Callable[[str], str] | None = None,
    statedir: str = DEFAULT_STATEDIR,
    hostname: str = "localhost",
    lower_names: bool = True,
) -> AfpConf:
    return volumes_from(
        parse_ini(text, source, read_include), statedir=statedir, hostname=hostname, lower_names=lower_names
    )


def _is_within(path: str, root: str) -> bool:
    p, r = PurePosixPath(path), PurePosixPath(root)
    return p == r or r in p.parents


def volumes_on_dataset(conf: AfpConf, mountpoint: str, child_mountpoints: Iterable[str] = ()) -> tuple[Volume, ...]:
    """Volumes whose files live on the dataset mounted at ``mountpoint``: at or below it, but not below a child
    dataset's mountpoint (those belong to the child)."""
    children = [c for c in child_mountpoints if _is_within(c, mountpoint) and c != mountpoint]
    return tuple(
        v for v in conf.volumes if _is_within(v.path, mountpoint) and not any(_is_within(v.path, c) for c in children)
    )


def volumes_with_database_on(conf: AfpConf, mountpoint: str) -> tuple[Volume, ...]:
    """Volumes whose ``.AppleDB`` lives on the dataset mounted at ``mountpoint`` (for snapshotting data and CNID
    database together)."""
    return tuple(v for v in conf.volumes if _is_within(v.db_dir, mountpoint))
