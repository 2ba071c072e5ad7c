"""The output contract: where a command may write, checked before any work, and what it may
replace.

`--out` names a folder the tool creates. An existing folder is used only when it is empty; one that
holds a previous result of this tool (recognised by its `manifest.json`) is replaced only with
`--force`; anything else (a file, a folder with files the tool did not write, a path that cannot
be created) is refused as bad input before the simulation starts. Nothing the tool did not write is
ever deleted or renamed.

Results are staged in a hidden sibling `.NAME.tmp-PID` and renamed into place; a replaced result
is first renamed to `.NAME.old-PID`. Either kind left behind by a killed process (its PID no longer
alive) is removed on the next write into the same parent, but only when it is empty or carries
this tool's manifest.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import re
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sim.problems import BadInput, toml_value

MANIFEST = "manifest.json"
TOOL = "distill-sim"
FRAGMENT_HEADER = "# fitted by distill-sim fit-traffic"
_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?:tmp|old)-(?P<pid>\d+)$")


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed(TOOL)
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def manifest(command: str, files: Iterable[str], **extra: Any) -> dict[str, Any]:
    """What marks a folder as this tool's result: who wrote it, when, and the files it wrote."""
    created = datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat()
    return {
        "tool": TOOL,
        "version": version(),
        "command": command,
        "created": created,
        "files": sorted(set(files) | {MANIFEST}),
        **extra,
    }


def manifest_text(command: str, files: Iterable[str], **extra: Any) -> str:
    return json.dumps(manifest(command, files, **extra), indent=2) + "\n"


def read_manifest(directory: Path) -> dict[str, Any] | None:
    """The folder's manifest when it is this tool's, else None (missing, unreadable, foreign)."""
    try:
        found = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(found, dict):
        return None
    # sweeps written before manifests named their tool carry only their fingerprint
    if found.get("tool") == TOOL or "fingerprint" in found:
        return found
    return None


def foreign_entries(directory: Path, found: dict[str, Any]) -> list[str]:
    """Entries of a result folder its manifest does not account for (listed files, the insides of
    listed folders, and this tool's staging files for a listed name are its own)."""
    listed = set(found.get("files") or ()) | {MANIFEST}
    if "fingerprint" in found and "files" not in found:  # an older sweep's fixed layout
        listed |= {"runs", "sweep.parquet", "errors.json", "sweep.png"}
    strangers = []
    for entry in sorted(directory.iterdir(), key=lambda p: p.name):
        leftover = _LEFTOVER.match(entry.name)
        if entry.name in listed or (leftover and leftover["name"] in listed):
            continue
        strangers.append(entry.name)
    return strangers


def _got(out: Path, default: bool) -> str:
    return f"--out: got {toml_value(str(out))}{' (the default)' if default else ''}"


def _creatable(out: Path) -> str | None:
    """Why `out` (which does not exist) cannot be created, or None. Its nearest existing ancestor
    must be a folder in which a folder can really be made: a probe folder is made and removed at
    once, because permission bits do not tell (root ignores them; /proc refuses everyone)."""
    ancestor = out.absolute().parent
    while not ancestor.exists():
        if ancestor.is_symlink():  # a dangling link: creating beneath it fails
            return f"{ancestor} is a broken link"
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return f"{ancestor} is a file, not a folder"
    probe = ancestor / f".distill-sim-probe-{os.getpid()}"
    try:
        probe.mkdir()
    except OSError as failed:
        return f"cannot create a folder in {ancestor}: {failed.strerror or failed}"
    probe.rmdir()
    return None


def directory_problems(out: Path, force: bool, default: bool = False) -> list[str]:
    """Why `--out` cannot take a new result (at most one line), or [] when it can."""
    got = _got(out, default)
    if out.is_symlink():
        # a rename would replace the link, not fill the folder it points to
        return [
            f"{got}; expected a new or empty folder (it is a symbolic link; give the folder it "
            "points to)"
        ]
    if not out.exists():
        reason = _creatable(out)
        return (
            [] if reason is None else [f"{got}; expected a folder that can be created ({reason})"]
        )
    if not out.is_dir():
        return [f"{got}; expected a new or empty folder (it is a file)"]
    if out.resolve() in (Path.cwd().resolve(), *Path.cwd().resolve().parents):
        return [f"{got}; expected a new or empty folder (it is the current folder or holds it)"]
    try:
        entries = sorted(p.name for p in out.iterdir())
    except OSError as failed:
        return [f"{got}; expected a new or empty folder (it cannot be read: {failed.strerror})"]
    if not entries:
        return _writable_parent(out, got)
    found = read_manifest(out)
    if found is None:
        return [
            f"{got}; expected a new or empty folder (it holds files distill-sim did not write: "
            f"{_names(entries)}; choose another folder)"
        ]
    strangers = foreign_entries(out, found)
    if strangers:
        return [
            f"{got}; expected a new or empty folder (it holds a distill-sim result and files it "
            f"did not write: {_names(strangers)}; choose another folder)"
        ]
    if not force:
        return [
            f"{got}; expected a new or empty folder (it holds a previous distill-sim result; "
            "choose another, or --force to replace it)"
        ]
    return _writable_parent(out, got)


def _writable_parent(out: Path, got: str) -> list[str]:
    """An existing folder is replaced by renaming a sibling onto it: its parent must take one."""
    probe = out.absolute().parent / f".distill-sim-probe-{os.getpid()}"
    try:
        probe.mkdir()
    except OSError as failed:
        return [
            f"{got}; expected a folder whose parent can be written "
            f"(cannot create a folder in {probe.parent}: {failed.strerror or failed})"
        ]
    probe.rmdir()
    return []


def _names(entries: list[str], limit: int = 3) -> str:
    shown = ", ".join(entries[:limit])
    return shown + (f" and {len(entries) - limit} more" if len(entries) > limit else "")


def check_directory(out: Path, force: bool, default: bool = False) -> Path:
    """Raise BadInput unless `out` can take a new result; return it."""
    problems = directory_problems(out, force, default)
    if problems:
        raise BadInput(problems)
    return out


def check_root(root: Path) -> None:
    """Before a default output folder is known (it needs the scenario's name), at least its root
    must be a folder that exists or can be created: `results` being a file is found at once."""
    if root.exists() and not root.is_dir():
        raise BadInput([f"{_got(root, True)}; expected a folder (it is a file)"])
    if not root.exists():
        reason = _creatable(root)
        if reason is not None:
            raise BadInput(
                [f"{_got(root, True)}; expected a folder that can be created ({reason})"]
            )


def file_problems(out: Path, force: bool, header: str = FRAGMENT_HEADER) -> list[str]:
    """Why `--out FILE` cannot take a new file: a folder, a missing or non-folder parent, an
    unwritable parent, or an existing file (replaced only with --force, and only when its first
    line is `header`, i.e. this tool wrote it)."""
    got = _got(out, False)
    if out.is_dir():
        return [f"{got}; expected a file name (it is a folder)"]
    parent = out.absolute().parent
    if not parent.exists():
        return [f"{got}; expected a file in an existing folder ({parent} does not exist)"]
    if not parent.is_dir():
        return [f"{got}; expected a file in an existing folder ({parent} is a file)"]
    if out.exists() or out.is_symlink():
        if not force:
            return [f"{got}; expected a new file (it exists; choose another, or --force to replace "
                    "a fragment distill-sim wrote)"]  # fmt: skip
        if not _starts_with(out, header):
            return [
                f"{got}; expected a new file (it exists and distill-sim did not write it; "
                "choose another)"
            ]
    probe = parent / f".distill-sim-probe-{os.getpid()}"
    try:
        probe.mkdir()
    except OSError as failed:
        return [
            f"{got}; expected a file that can be written "
            f"(cannot create a file in {parent}: {failed.strerror or failed})"
        ]
    probe.rmdir()
    return []


def _starts_with(path: Path, header: str) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(len(header.encode())) == header.encode()
    except OSError:
        return False


def check_file(out: Path, force: bool) -> Path:
    problems = file_problems(out, force)
    if problems:
        raise BadInput(problems)
    return out


def record(directory: Path, names: Iterable[str]) -> None:
    """Add files written later into a result folder (`report RUN_DIR`) to its manifest, so that
    --force still recognises the folder as wholly this tool's."""
    found = read_manifest(directory)
    if found is None or "files" not in found:
        return
    files = sorted(set(found["files"]) | set(names) | {MANIFEST})
    if files == found["files"]:
        return
    text = json.dumps({**found, "files": files}, indent=2) + "\n"
    staging = directory / f".{MANIFEST}.tmp-{os.getpid()}"
    staging.write_text(text, encoding="utf-8")
    os.replace(staging, directory / MANIFEST)


def writable_problems(directory: Path, what: str) -> list[str]:
    """Why files cannot be written into an existing folder (a probe folder tells), or []."""
    probe = directory / f".distill-sim-probe-{os.getpid()}"
    try:
        probe.mkdir()
    except OSError as failed:
        return [
            f"{what}: got {toml_value(str(directory))}; expected a folder that can be written "
            f"({failed.strerror or failed})"
        ]
    probe.rmdir()
    return []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_leftovers(parent: Path) -> list[Path]:
    """Remove `.NAME.tmp-PID` / `.NAME.old-PID` folders in `parent` left by a killed process: only
    when that PID is no longer alive (a live process's staging is never touched) and the folder is
    empty or carries this tool's manifest (a user's folder that happens to match is left alone)."""
    removed: list[Path] = []
    try:
        entries = list(parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _LEFTOVER.match(entry.name)
        if match is None or int(match["pid"]) == os.getpid() or _alive(int(match["pid"])):
            continue
        if entry.is_symlink() or not entry.is_dir():
            continue
        with contextlib.suppress(OSError):
            if any(entry.iterdir()) and read_manifest(entry) is None:
                continue
            shutil.rmtree(entry)
            removed.append(entry)
    return removed


def replace_directory(staging: Path, directory: Path, force: bool) -> None:
    """Rename the finished staging folder to `directory`. An empty folder is replaced by the rename
    itself; a previous result only with `force`, checked again here in case it changed during the
    run; anything else is refused (the caller removes the staging folder)."""
    if directory.exists() or directory.is_symlink():
        check_directory(directory, force)
        if any(directory.iterdir()):
            retired = directory.with_name(f".{directory.name}.old-{os.getpid()}")
            directory.rename(retired)
            staging.rename(directory)
            shutil.rmtree(retired)
            return
    os.rename(staging, directory)  # atomic; also replaces an empty folder
