"""File helpers: atomic writes, no silent overwrite, transparent gzip, content hashes.

Every output advise writes goes through :func:`atomic_open`, which decides once, at publish
time, what may be replaced:

* only a regular file is ever replaced; a directory, device node, FIFO or socket at the target
  is refused even with ``--force`` (``-o /dev/null --force`` must not swap the system's
  /dev/null for a regular file);
* a symbolic link at the target is refused (deliberately: not followed). Writing through a link
  would let a link planted in a shared directory redirect the write; the hint names the link's
  target so the user can pass it directly;
* an output that is one of the inputs (same device and inode) is refused;
* without ``--force`` (``overwrite=False``) the temp file is hard-linked to the target, which
  fails if anything appeared there since the start: two concurrent runs writing the same path
  cannot both succeed, one gets "already exists";
* write failures (read-only directory, disk full, file size limit) become a one-line
  :class:`~advisor.kernel.errors.AdviseError` naming the file, not a traceback;
* temp files carry the writer's pid (``.NAME.advise-PID.*.tmp``); the next write of the same
  file removes those of dead processes (a kill -9 between write and publish).
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import io
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from advisor.kernel.errors import AdviseError, OutputExistsError

# errno → what the user can do about it (shared with the CLI's last-resort OSError handler)
OS_ERROR_HINTS = {
    errno.ENOSPC: "the disk is full: free some space or write to another disk",
    errno.EDQUOT: "the disk quota is exhausted: free some space or write elsewhere",
    errno.EFBIG: "the file exceeds the file size limit (ulimit -f) or the file system's maximum",
    errno.EROFS: "the file system is read-only: choose an output path on a writable disk",
    errno.EACCES: "permission denied: choose a directory you can write to, or fix its permissions",
    errno.EPERM: "operation not permitted: choose a directory you can write to, or fix its permissions",
    errno.ENAMETOOLONG: "the path is too long: choose a shorter name",
    errno.ENOTDIR: "a part of the path is a file, not a directory",
    errno.EISDIR: "the path is a directory: name a file",
    errno.EIO: "the disk reported an I/O error",
}
_WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM,
                           errno.EIO, errno.ENAMETOOLONG, errno.ENOTDIR})


def os_error_hint(exc: OSError) -> str:
    return OS_ERROR_HINTS.get(exc.errno or 0, "check the path, its permissions and free disk space")


def write_error(path: str | Path, exc: OSError) -> AdviseError:
    """An OSError met while writing `path`, as a user-facing error (file + reason + hint)."""
    reason = exc.strerror or str(exc)
    return AdviseError(f"cannot write: {reason}", file=str(path), hint=os_error_hint(exc))


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device node"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def check_target(path: str | Path, inputs: Iterable[str | Path] = ()) -> bool:
    """Refuse targets that no --force may replace; True when a regular file is already there."""
    p = Path(path)
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise write_error(p, exc) from exc
    if stat.S_ISLNK(st.st_mode):
        target = os.path.realpath(p)
        raise AdviseError(f"{p} is a symbolic link (to {target}); advise does not write through links",
                          file=str(p), hint=f"pass the real path ({target}) to replace it, or choose another name")
    if not stat.S_ISREG(st.st_mode):
        raise AdviseError(f"{p} is {_kind(st.st_mode)}, not a regular file; --force only replaces regular files",
                          file=str(p), hint="choose a regular file path for the output")
    for i in inputs:
        try:
            ist = os.stat(i)
        except OSError:
            continue
        if stat.S_ISREG(ist.st_mode) and _same_file(st, ist):
            raise AdviseError(f"{p} is one of the inputs ({i}); refusing to overwrite it", file=str(p),
                              hint="write the output to another path")
    return True


def check_writable(path: str | Path, force: bool = False, inputs: Iterable[str | Path] = ()) -> Path:
    """Fail early (before the long work) on outputs that cannot or may not be written.

    Refuses non-regular targets, links and inputs always, an existing file unless --force.
    :func:`atomic_open` checks all of it again when it publishes.
    """
    p = Path(path)
    if str(p) == "-":
        return p
    parent = _existing_parent(p)
    if parent is not None and not os.access(parent, os.W_OK | os.X_OK):
        raise write_error(p, PermissionError(errno.EACCES, f"directory {parent} is not writable"))
    if check_target(p, inputs) and not force:
        raise OutputExistsError(f"{p} already exists", file=str(p),
                                hint="pass --force to overwrite it, or choose another path")
    return p


def _existing_parent(p: Path) -> Path | None:
    """The nearest existing directory above `p` (where the write, or its mkdir, will happen)."""
    for d in p.absolute().parents:
        if d.is_dir():
            return d
    return None


@contextmanager
def atomic_open(path: str | Path, mode: str = "w", encoding: str | None = "utf-8", *, overwrite: bool = True,
                inputs: Iterable[str | Path] = ()) -> Iterator[IO]:
    """Write to a temp file beside `path`, fsync, then publish: readers never see half a file.

    `overwrite=False` publishes create-exclusive (the no-overwrite promise holds at publish time,
    not only when the command started); `inputs` are files the output must not be.
    """
    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        _clean_stale_temp_files(p)
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.advise-{os.getpid()}.", suffix=".tmp", dir=p.parent)
    except OSError as exc:
        raise write_error(p, exc) from exc
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else encoding) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual permissions
        _publish(tmp, p, overwrite, list(inputs))
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError) and exc.errno in _WRITE_ERRNOS \
                and exc.filename in (None, tmp, str(p)):
            raise write_error(p, exc) from exc
        raise


def _clean_stale_temp_files(p: Path) -> None:
    """Temp files of writes to `p` whose process died (kill -9 before publish): `.NAME.advise-PID.*.tmp`."""
    prefix = f".{p.name}.advise-"
    try:
        candidates = [e for e in os.scandir(p.parent) if e.name.startswith(prefix) and e.name.endswith(".tmp")]
    except OSError:
        return
    for e in candidates:
        pid = e.name[len(prefix):].split(".", 1)[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            try:
                os.unlink(e.path)
            except OSError:
                pass


def _publish(tmp: str, p: Path, overwrite: bool, inputs: list[str | Path]) -> None:
    exists = check_target(p, inputs)
    if overwrite:
        os.replace(tmp, p)
        return
    if exists:
        raise OutputExistsError(f"{p} already exists", file=str(p),
                                hint="pass --force to overwrite it, or choose another path")
    try:
        os.link(tmp, p)  # atomic create-exclusive: fails if the name was taken meanwhile
    except FileExistsError as exc:
        raise OutputExistsError(f"{p} appeared while advise was running (another run writing it?)",
                                file=str(p), hint="pass --force to overwrite it, or choose another path") from exc
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK, errno.ENOSYS):
            raise
        # no hard links here (some network/FUSE file systems): reserve the name exclusively, then replace it
        try:
            os.close(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError as exc2:
            raise OutputExistsError(f"{p} appeared while advise was running (another run writing it?)",
                                    file=str(p), hint="pass --force to overwrite it, or choose another path") from exc2
        os.replace(tmp, p)
        return
    os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | Path, text: str, *, overwrite: bool = True,
                      inputs: Iterable[str | Path] = ()) -> None:
    with atomic_open(path, "w", overwrite=overwrite, inputs=inputs) as fh:
        fh.write(text)


def atomic_write_bytes(path: str | Path, data: bytes, *, overwrite: bool = True,
                       inputs: Iterable[str | Path] = ()) -> None:
    with atomic_open(path, "wb", overwrite=overwrite, inputs=inputs) as fh:
        fh.write(data)


def open_binary(path: str | Path) -> IO[bytes]:
    """Open a log file for reading bytes, gunzipping `.gz` (sniffed by magic, not only suffix)."""
    p = Path(path)
    fh = open(p, "rb")
    magic = fh.read(2)
    fh.seek(0)
    if magic == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=fh, mode="rb")  # type: ignore[return-value]
    return io.BufferedReader(fh) if not isinstance(fh, io.BufferedReader) else fh


def sha256_file(path: str | Path, chunk: int = 8 << 20) -> str:
    """sha256 of a file, read in large blocks into one reused buffer (the reads and hashlib drop the GIL).

    Why 8 MiB: each block takes the GIL back twice, and beside a busy thread each handover can wait out the
    5 ms switch interval; with 1 MiB blocks hashing 2.5 GB on a thread took 14.5 s of wall against 2.6 s."""
    h, buf = hashlib.sha256(), bytearray(chunk)
    with open(path, "rb", buffering=0) as fh, memoryview(buf) as mv:
        while n := fh.readinto(buf):
            h.update(mv[:n])
    return h.hexdigest()


# ---------------------------------------------------------------- directories published as one unit

_STAGE_RE = r"^\.(?P<name>.+)\.advise-(?P<kind>new|old)-(?P<pid>\d+)$"


def _pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (unknown → assume alive, so nothing live is ever removed)."""
    if pid == os.getpid() or os.name != "posix":  # os.kill(pid, 0) would terminate the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def clean_stale_dirs(target: str | Path) -> list[Path]:
    """Remove what killed runs left beside `target` (hidden `.NAME.advise-new|old-PID` of dead pids).

    A run killed between the two renames of :func:`publish_dir` (no atomic exchange available)
    left the previous directory as `.NAME.advise-old-PID` and no `target`: that one is put back.
    Returns the paths removed or restored.
    """
    import re
    import shutil

    t = Path(target)
    rx = re.compile(_STAGE_RE)
    done: list[Path] = []
    try:
        entries = list(t.parent.iterdir()) if t.parent.is_dir() else []
    except OSError:
        return done
    for e in sorted(entries, key=lambda e: e.name):
        m = rx.match(e.name)
        if not m or m["name"] != t.name or _pid_alive(int(m["pid"])):
            continue
        if m["kind"] == "old" and not os.path.lexists(t):
            os.rename(e, t)
        else:
            shutil.rmtree(e, ignore_errors=True)
        done.append(e)
    return done


def staging_dir(target: str | Path) -> Path:
    """A fresh hidden sibling of `target` to build into (carries our pid so a later run can clean it)."""
    t = Path(target)
    stage = t.parent / f".{t.name}.advise-new-{os.getpid()}"
    try:
        t.parent.mkdir(parents=True, exist_ok=True)
        if stage.exists():
            import shutil

            shutil.rmtree(stage)
        stage.mkdir()
    except OSError as exc:
        raise write_error(stage, exc) from exc
    return stage


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    AT_FDCWD, RENAME_EXCHANGE = -100, 2
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _carry_over(old: Path, stage: Path, owned: Iterable[str]) -> None:
    """Entries of the previous directory that the new one does not own (the user's files) come along
    as hard links (copies where links are impossible); our hidden temp debris does not."""
    import shutil

    skip = set(owned)
    for e in old.iterdir():
        if e.name in skip or (e.name.startswith(".") and (e.name.endswith(".tmp") or ".advise-" in e.name
                                                          or e.name.startswith(".advise-"))):
            continue
        dst = stage / e.name
        if e.is_dir() and not e.is_symlink():
            shutil.copytree(e, dst, symlinks=True, copy_function=_link_or_copy)
        else:
            _link_or_copy(str(e), str(dst))


def _link_or_copy(src: str, dst: str) -> None:
    import shutil

    if os.path.islink(src):
        os.symlink(os.readlink(src), dst)
        return
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def publish_dir(stage: Path, target: str | Path, *, overwrite: bool = False,
                owned: Iterable[str] | None = None) -> None:
    """Make the finished `stage` directory appear as `target` in one step; the old one is then removed.

    Readers see the old directory or the new one, never a mix. Where the kernel cannot exchange
    two directories atomically, two renames are used and :func:`clean_stale_dirs` repairs a kill
    between them. Without `overwrite` a non-empty `target` is refused, also one that appeared
    meanwhile. With `owned` (the names the new directory is responsible for), the old directory's
    other entries are carried over into the new one.
    """
    import shutil

    t = Path(target)
    try:
        if not os.path.lexists(t) or (t.is_dir() and not t.is_symlink() and not any(t.iterdir())):
            os.rename(stage, t)  # rename() replaces an empty directory; a non-empty one fails (exclusive)
            return
        if t.is_symlink() or not t.is_dir():
            raise AdviseError(f"{t} exists and is not a directory", file=str(t),
                              hint="pass a directory path for -o")
        if not overwrite:
            raise OutputExistsError(f"{t} appeared while advise was running (another run writing it?)",
                                    file=str(t), hint="pass --force to replace it, or choose another -o")
        if owned is not None:
            _carry_over(t, stage, owned)
        if _exchange(stage, t):
            shutil.rmtree(stage, ignore_errors=True)  # `stage` now holds the previous directory
            return
        old = t.parent / f".{t.name}.advise-old-{os.getpid()}"
        os.rename(t, old)
        os.rename(stage, t)
        shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
            raise OutputExistsError(f"{t} appeared while advise was running (another run writing it?)",
                                    file=str(t), hint="pass --force to replace it, or choose another -o") from exc
        raise write_error(t, exc) from exc
