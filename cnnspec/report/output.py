"""Writing a report folder as a whole, checking output folders up front, and reading reports back.

A report folder holds ``report.json``, ``index.html``, ``junit.xml`` and ``summary.md``. They are
rendered in memory first (a rendering error writes nothing), written into a temporary sibling
folder, and swapped in with one rename: Linux's ``renameat2(RENAME_EXCHANGE)`` exchanges the two
folders atomically (renameat2(2)); elsewhere two renames, with the old folder kept aside until the
new one is in place. A kill at any point, or a full disk, leaves the previous report whole: all four
files from the same run. Anything else in the folder (a run's ``train/`` checkpoints) is carried
over into the new one before the swap.

Saved reports are read back through the JSON Schema (:mod:`cnnspec.report.schema`): nothing in
them is trusted, and their verdict and counts are recomputed from their claims.
"""
from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

from ..errors import OutputError, UsageError
from . import html, junit, markdown
from .schema import (MAX_DEPTH, MAX_REPORT_BYTES, _alive, dumps, finalize, remove_stale_temporaries, validate, verdict,
                     write_atomic)
from .sections import normalize, subject_name

# In the order they are written into the temporary folder: the page, the largest, last.
FILES = ("report.json", "junit.xml", "summary.md", "index.html")
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def render_all(report: dict[str, Any]) -> dict[str, str]:
    """Every file of a report folder, as text, keyed by file name."""
    return {"report.json": dumps(report), "junit.xml": junit.render(report),
            "summary.md": markdown.render(report), "index.html": html.render(report)}


def write_report_dir(report: dict[str, Any], out: str | os.PathLike,
                     _after_file: Callable[[str], None] | None = None) -> dict[str, Path]:
    """Render ``report`` and put the four files into ``out`` as one swap (see the module's text).

    Raises :class:`~cnnspec.errors.OutputError` (one line, the previous folder intact) when the
    files cannot be written. ``_after_file(name)`` is called after each file lands in the
    temporary folder; the tests use it to stop a write between two files.
    """
    return write_folder(render_all(report), out, _after_file)


def write_folder(texts: dict[str, str], out: str | os.PathLike,
                 _after_file: Callable[[str], None] | None = None) -> dict[str, Path]:
    """Put the files ``texts`` (name: text) into ``out`` as one swap, as :func:`write_report_dir`
    does for a report (``cnnspec matrix`` writes its own three files through it)."""
    out = _target_dir(out)
    check_output_dir(out)
    tmp: Path | None = None
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        recover(out)
        tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.{os.getpid()}.", suffix=".tmp"))
        for name in texts:
            _write_file(tmp / name, texts[name])
            if _after_file:
                _after_file(name)
        os.chmod(tmp, (out.stat().st_mode & 0o7777) if out.is_dir() else 0o777 & ~_umask())
        _fsync_dir(tmp)
        if out.is_dir():
            _carry_extras(out, tmp)
            _swap(tmp, out)
        else:
            os.rename(tmp, out)
            tmp = None
        _fsync_dir(out.parent)
    except OSError as e:
        raise OutputError(f"cannot write the report into {str(out)!r}: {e.strerror or e}"
                          f"{' (the disk is full)' if e.errno == errno.ENOSPC else ''}; "
                          f"nothing there was changed") from None
    finally:
        if tmp is not None and tmp.exists():
            _give_back_extras(tmp, out)
            shutil.rmtree(tmp, ignore_errors=True)
    return {name: out / name for name in texts}


def _target_dir(out: str | os.PathLike) -> Path:
    """``out`` as an absolute path; a symlink to a folder (``reports/latest``) is followed, so the
    link stays a link and the folder it names is replaced."""
    p = Path(out)
    if p.is_symlink() and p.is_dir():
        p = Path(os.path.realpath(p))
    return Path(os.path.abspath(p))


def _write_file(path: Path, text: str) -> None:
    with open(path, "wb") as f:
        f.write(text.encode("utf-8"))
        f.flush()
        os.fsync(f.fileno())
    os.chmod(path, 0o666 & ~_umask())


def _carry_extras(old: Path, new: Path) -> None:
    """Move what else the old folder holds (not one of :data:`FILES`) into the new one."""
    for entry in old.iterdir():
        if entry.name not in FILES and not (new / entry.name).exists():
            os.rename(entry, new / entry.name)


def _give_back_extras(tmp: Path, out: Path) -> None:
    """Undo :func:`_carry_extras` after a failed write (the swap did not happen)."""
    if not out.is_dir():
        return
    for entry in tmp.iterdir():
        if entry.name not in FILES and not (out / entry.name).exists():
            try:
                os.rename(entry, out / entry.name)
            except OSError:
                pass


def _swap(new: Path, out: Path) -> None:
    """Put folder ``new`` at ``out`` and remove the old one; one atomic exchange where the kernel
    has it, else two renames with the old folder aside (``.NAME.PID.old``) until the second is done."""
    if _exchange(new, out):
        shutil.rmtree(new, ignore_errors=True)   # ``new`` now holds the old report
        return
    aside = out.parent / f".{out.name}.{os.getpid()}.old"
    os.rename(out, aside)
    try:
        os.rename(new, out)
    except OSError:
        os.rename(aside, out)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False   # this file system cannot exchange: fall back to two renames
    raise OSError(err, os.strerror(err), str(b))


def recover(out: str | os.PathLike) -> list[Path]:
    """Clean up after writers of ``out`` that died: a folder set aside by the two-rename swap is put
    back if ``out`` is missing; temporary folders give back what they carried, then are removed."""
    out = Path(out)
    if not out.parent.is_dir():
        return []
    removed = []
    for p in sorted(out.parent.glob(f".{out.name}.*")):
        pid = _pid_of(p.name[len(out.name) + 2:])
        if pid is None or pid == os.getpid() or _alive(pid) or not p.is_dir():
            continue
        if p.name.endswith(".old") and not out.exists():
            os.rename(p, out)
            continue
        if p.name.endswith((".tmp", ".old")):
            _give_back_extras(p, out)
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    if out.is_dir():
        removed += remove_stale_temporaries(out)
    return removed


def _pid_of(rest: str) -> int | None:
    head = rest.split(".", 1)[0]
    return int(head) if head.isdigit() else None


def _fsync_dir(d: Path) -> None:
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_output_dir(out: str | os.PathLike, name: str = "output folder") -> Path:
    """Check, before any work, that a report can be written at ``out``: it is a folder or can be
    created as one, and its parent takes new files (probed with a small temporary folder, removed
    again). Nothing is left behind. Raises :class:`~cnnspec.errors.OutputError` saying why not;
    ``name`` is how the message names ``out`` (a command passes its option, ``--out``)."""
    out = Path(os.path.abspath(out))
    if out.exists() and not out.is_dir():
        raise OutputError(f"{name}: {str(out)!r} exists and is not a folder; give a folder path")
    base = out.parent
    while not base.exists():
        base = base.parent
    if not base.is_dir():
        raise OutputError(f"{name}: {str(out)!r} cannot be created: {str(base)!r} is a file, not a folder")
    try:
        probe = Path(tempfile.mkdtemp(dir=base, prefix=".cnnspec-probe."))
        try:
            _write_file(probe / "probe", "x" * 4096)
        finally:
            shutil.rmtree(probe, ignore_errors=True)
    except OSError as e:
        raise OutputError(f"{name}: cannot write under {str(base)!r}: {e.strerror or e}; give a "
                          f"writable folder") from None
    if out.is_dir() and not os.access(out, os.W_OK | os.X_OK):
        raise OutputError(f"{name}: {str(out)!r} is not writable; give a writable folder")
    return out


def link_latest(reports_root: str | os.PathLike, run_dir: str | os.PathLike) -> None:
    """Point ``reports_root/latest`` at ``run_dir`` (a relative symlink, replaced atomically)."""
    root = Path(reports_root)
    tmp = root / f".latest.{os.getpid()}.tmp"
    try:
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        os.symlink(os.path.relpath(run_dir, root), tmp)
        os.replace(tmp, root / "latest")
    except OSError:  # a file system without symlinks: the run folder is still there
        if tmp.is_symlink():
            tmp.unlink()


def report_file(path: str | os.PathLike) -> Path:
    """The ``report.json`` a RESULTS argument names (the file, or the one in a folder)."""
    p = Path(path)
    return p / "report.json" if p.is_dir() else p


def load_report(path: str | os.PathLike) -> dict[str, Any]:
    """A saved report (a ``report.json`` or a folder holding one), validated against the schema,
    with its verdict and summary recomputed from its claims.

    Raises :class:`UsageError`, one line naming the file and its first bad field.
    """
    try:
        recover(Path(os.path.abspath(path)))   # a folder a killed writer set aside is put back first
    except OSError:   # a folder we may not tidy is still read
        pass
    p = report_file(path)
    if Path(path).is_dir() and not p.exists():
        raise UsageError(f"RESULTS: the folder {str(path)!r} holds no report.json; give a report "
                         f"folder or report.json written by cnnspec validate --report, train, prove "
                         f"--format json or verify")
    recover(p.parent)
    try:
        size = p.stat().st_size
        if size > MAX_REPORT_BYTES:
            raise UsageError(f"RESULTS: {str(p)!r} is {size:,} bytes; a report is at most "
                             f"{MAX_REPORT_BYTES:,}")
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"RESULTS: {str(path)!r} does not exist; give a report.json written by "
                         f"cnnspec validate --report, train, prove --format json or verify") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"RESULTS: cannot read {str(p)!r}: {e}") from None
    try:
        report = json.loads(text)
    except json.JSONDecodeError as e:
        raise UsageError(f"RESULTS: {str(p)!r} is not JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
    except RecursionError:
        raise UsageError(f"RESULTS: {str(p)!r} is nested deeper than {MAX_DEPTH} levels (a report never "
                         f"is)") from None
    if not isinstance(report, dict):
        raise UsageError(f"RESULTS: {str(p)!r} holds a JSON {type(report).__name__}, not a report object")
    # Reports written before ``summary`` existed are read; a summary that is there must be valid.
    checked = report if "summary" in report else {**report, "summary": _PLACEHOLDER}
    validate(checked, where=f"RESULTS: {str(p)!r}")
    return finalize(report)


_PLACEHOLDER = {"pass": 0, "fail": 0, "warn": 0, "error": 0, "skipped": 0, "exit_code": 0, "seconds": 0.0}


def merge_reports(reports: list[dict[str, Any]], paths: list[str]) -> dict[str, Any]:
    """One report from several (validate, train, prove, verify): claims, artifacts, targets joined.

    The claims of a validate report get its target as their ``subject`` so that they land in that
    target's card on the page; verdict and summary are recomputed from the joined claims.
    """
    if len(reports) == 1:
        return finalize(reports[0])
    claims, artifacts, targets, stages, sources = [], [], [], [], []
    for rep, path in zip(reports, paths):
        rep = normalize(rep)
        for c in rep.get("claims", []):
            claims.append({**c, "stage": c.get("stage") or rep.get("kind")})
        artifacts += rep.get("artifacts", [])
        stages += rep.get("stages", [])
        targets += rep.get("targets", [])
        sources.append({"path": str(path), "kind": rep.get("kind"), "target": rep.get("target"),
                        "verdict": rep.get("verdict")})
    base = reports[0]
    merged = {"cnnspec_version": base.get("cnnspec_version"), "kind": "verify", "target": None, "op": None,
              "verdict": "fail", "claims": claims, "environment": base.get("environment", {}),
              "merged_from": sources, "stages": stages, "artifacts": artifacts, "targets": targets,
              "summary": {}}
    strict = any((r.get("summary") or {}).get("strict") for r in reports)
    return finalize(merged, strict=strict)


def verdict_of(report: dict[str, Any]) -> str:
    """The verdict recomputed from the claims (a saved verdict is not trusted over its claims)."""
    return verdict(report.get("claims", []), bool((report.get("summary") or {}).get("strict")))


__all__ = ["FILES", "render_all", "write_report_dir", "check_output_dir", "recover", "link_latest",
           "load_report", "report_file", "merge_reports", "normalize", "subject_name", "verdict_of",
           "verdict", "write_atomic"]
