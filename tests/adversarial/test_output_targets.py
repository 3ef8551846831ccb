"""`-o PATH --force` replaces only regular files that are not inputs; links are refused, not followed."""

from __future__ import annotations

import json
import os
import socket
import stat
from pathlib import Path

import pytest

from advisor.cli import main
from advisor.kernel.io import atomic_write_text, check_writable


def test_force_refuses_a_fifo(tmp_path, log_file, capsys):
    fifo = tmp_path / "out.json"
    os.mkfifo(fifo)
    assert main(["analyze", str(log_file), "-q", "-o", str(fifo), "--force"]) == 1
    err = capsys.readouterr().err
    assert "FIFO" in err and str(fifo) in err and "Traceback" not in err
    assert fifo.is_fifo()  # still the FIFO, not replaced by a regular file


def _device_node(tmp_path: Path) -> Path:
    """A character device to aim -o at: a private copy of /dev/null when we may create one (root), else
    /dev/null itself (then we cannot replace it anyway, so a regression cannot harm the machine)."""
    node = tmp_path / "null"
    try:
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        return node
    except (PermissionError, OSError):
        if os.geteuid() == 0:
            pytest.skip("running as root without CAP_MKNOD: refusing to aim a test at the real /dev/null")
        return Path("/dev/null")


def test_force_refuses_a_device_node(tmp_path, log_file, capsys):
    dev = _device_node(tmp_path)
    before = os.stat(dev)
    assert main(["analyze", str(log_file), "-q", "-o", str(dev), "--force"]) == 1
    assert "device node" in capsys.readouterr().err
    after = os.stat(dev)
    assert stat.S_ISCHR(after.st_mode) and (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)


def test_force_refuses_a_directory(tmp_path, log_file, capsys):
    d = tmp_path / "report.html"
    d.mkdir()
    assert main(["analyze", str(log_file), "-q", "--json", str(d), "--force"]) == 1
    assert "is a directory" in capsys.readouterr().err
    assert d.is_dir()


def test_force_refuses_a_socket_at_publish_time(tmp_path):
    path = tmp_path / "out.json"
    check_writable(path, force=True)  # nothing there at the start
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(path))  # something non-regular appears while the command runs
        with pytest.raises(Exception, match="socket"):
            atomic_write_text(path, "{}")
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())  # no temp debris


def test_force_refuses_a_symlink_and_leaves_its_target(tmp_path, log_file, capsys):
    target = tmp_path / "real.json"
    target.write_text("keep me")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    assert main(["analyze", str(log_file), "-q", "-o", str(link), "--force"]) == 1
    err = capsys.readouterr().err
    assert "symbolic link" in err and str(target) in err  # the hint names the real path
    assert link.is_symlink() and target.read_text() == "keep me"
    # the documented way: write to the link's target
    assert main(["analyze", str(log_file), "-q", "-o", str(target), "--force"]) == 0
    assert json.loads(link.read_text())["schema_version"]


def test_force_refuses_to_overwrite_an_input(log_file, capsys):
    before = log_file.read_bytes()
    assert main(["analyze", str(log_file), "-q", "-o", str(log_file), "--force"]) == 1
    assert "one of the inputs" in capsys.readouterr().err
    assert log_file.read_bytes() == before


def test_force_refuses_an_input_found_inside_a_directory(log_file, capsys):
    before = log_file.read_bytes()
    assert main(["analyze", str(log_file.parent), "-q", "--json", str(log_file), "--force"]) == 1
    assert "one of the inputs" in capsys.readouterr().err
    assert log_file.read_bytes() == before


def test_force_refuses_a_hard_link_to_an_input(tmp_path, log_file, capsys):
    alias = tmp_path / "alias.json"
    os.link(log_file, alias)
    assert main(["analyze", str(log_file), "-q", "-o", str(alias), "--force"]) == 1
    assert "one of the inputs" in capsys.readouterr().err


def test_report_refuses_its_own_input(tmp_path, log_file, capsys):
    a = tmp_path / "analysis.json"
    assert main(["analyze", str(log_file), "-q", "-o", str(a)]) == 0
    a2 = tmp_path / "analysis.html"
    os.link(a, a2)
    assert main(["report", str(a), "-o", str(a2), "--force"]) == 1
    assert "one of the inputs" in capsys.readouterr().err
    assert json.loads(a.read_text())["schema_version"]


def test_force_still_replaces_a_regular_file(tmp_path, log_file):
    out = tmp_path / "analysis.json"
    out.write_text("old")
    assert main(["analyze", str(log_file), "-q", "-o", str(out), "--force"]) == 0
    assert json.loads(out.read_text())["schema_version"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["analysis.json", "logs"]


def test_plain_path_helpers_accept_str(tmp_path):
    p = Path(tmp_path / "x.txt")
    atomic_write_text(str(p), "a")
    atomic_write_text(p, "b")
    assert p.read_text() == "b"
