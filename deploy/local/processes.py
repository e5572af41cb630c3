"""Starting, finding and stopping the stack's server processes by pid files that name them exactly.

A pid file records the pid and the process's start time (clock ticks since boot, from /proc), so a pid that
the kernel has reused for somebody else's process is never mistaken for ours and never signalled.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcessRecord:
    pid: int
    start_ticks: int
    started_at: float


def _start_ticks(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; fields after the closing parenthesis are fixed.
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":  # a zombie has finished
        return None
    return int(fields[19])


def start(
    pid_file: Path,
    argv: Sequence[str],
    *,
    log_path: Path,
    env: Mapping[str, str],
    cwd: Path,
    user: str | None = None,
) -> ProcessRecord:
    """Start `argv` detached in its own session (so the whole group can be stopped), output to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # Another user gets that user's own group and no supplementary groups, not root's.
    group = pwd.getpwnam(user).pw_gid if user else None
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env),
            cwd=cwd,
            user=user,
            group=group,
            extra_groups=[] if user else None,
            start_new_session=True,
        )
    ticks = _start_ticks(process.pid)
    record = ProcessRecord(process.pid, ticks or 0, time.time())
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(json.dumps(record.__dict__))
    return record


def running(pid_file: Path) -> ProcessRecord | None:
    """The process a pid file names, if it is still that very process; a stale pid file is removed."""
    try:
        record = ProcessRecord(**json.loads(pid_file.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    if _start_ticks(record.pid) != record.start_ticks:
        pid_file.unlink(missing_ok=True)
        return None
    return record


def stop(pid_file: Path, timeout: float) -> bool:
    """Stop the process group a pid file names: SIGTERM, then SIGKILL after `timeout`. False if none ran."""
    record = running(pid_file)
    if record is None:
        return False
    _signal_group(record.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and running(pid_file) is not None:
        time.sleep(0.2)
    if running(pid_file) is not None:
        _signal_group(record.pid, signal.SIGKILL)
        while running(pid_file) is not None:
            time.sleep(0.1)
    _reap(record.pid)
    pid_file.unlink(missing_ok=True)
    return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def _reap(pid: int) -> None:
    # When this process started the server (same `sgs stack up`), it must collect the exit status.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True
