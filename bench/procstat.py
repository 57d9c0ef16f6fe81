"""CPU time and memory of a process tree, read from Linux ``/proc``.

What the harness reports about the server:

* **CPU seconds** = user + system time of the server process and its live
  descendants (``utime + stime`` from ``/proc/<pid>/stat``, in clock ticks),
  plus the children the server already reaped (``cutime + cstime``). The
  harness takes the difference over a workload, so idle background work
  (queue scanners, heartbeats) during the run counts too — it is part of what
  the server costs.
* **Peak RSS** = the largest ``VmRSS`` sum over the tree seen by a sampling
  thread during the workload. ``VmHWM`` is a lifetime high-water mark, so it
  cannot say which workload reached it; it is reported separately.

A thread, not an asyncio task, samples: the harness's event loop is the thing
under load, and a starved sampler would miss exactly the peaks that matter.
Processes vanish between listing and reading; such reads are skipped.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

CLOCK_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
_KB = 1024


@dataclass(frozen=True)
class StatFields:
    ppid: int
    utime_ticks: int
    stime_ticks: int
    cutime_ticks: int
    cstime_ticks: int


def parse_stat(text: str) -> StatFields:
    """Parse the contents of ``/proc/<pid>/stat``.

    The command name (field 2) is in parentheses and may itself contain spaces
    and parentheses, so split after the *last* ``)``.
    """
    rest = text[text.rindex(")") + 2 :].split()
    # rest[0] is field 3 (state): field k is rest[k - 3].
    return StatFields(
        ppid=int(rest[1]),
        utime_ticks=int(rest[11]),
        stime_ticks=int(rest[12]),
        cutime_ticks=int(rest[13]),
        cstime_ticks=int(rest[14]),
    )


def parse_status_kb(text: str, key: str) -> int | None:
    """A ``kB`` field of ``/proc/<pid>/status`` (``VmRSS``, ``VmHWM``) in bytes; None if absent."""
    prefix = key + ":"
    for line in text.splitlines():
        if line.startswith(prefix):
            return int(line[len(prefix) :].split()[0]) * _KB
    return None  # kernel threads and zombies have no Vm* lines


def _read(path: str) -> str | None:
    try:
        with open(path) as handle:
            return handle.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None


def read_stat(pid: int) -> StatFields | None:
    text = _read(f"/proc/{pid}/stat")
    return parse_stat(text) if text is not None else None


def descendants(pid: int) -> list[int]:
    """Live descendants of ``pid`` (not ``pid`` itself), found by scanning ``/proc``."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = read_stat(int(entry))
        if stat is not None:
            children.setdefault(stat.ppid, []).append(int(entry))
    found: list[int] = []
    frontier = [pid]
    while frontier:
        for child in children.get(frontier.pop(), ()):
            found.append(child)
            frontier.append(child)
    return found


def cpu_seconds(pid: int, *, include_descendants: bool = True) -> float:
    """User + system CPU seconds of ``pid`` (and its tree); raises if ``pid`` is gone."""
    root = read_stat(pid)
    if root is None:
        raise ProcessLookupError(pid)
    ticks = root.utime_ticks + root.stime_ticks + root.cutime_ticks + root.cstime_ticks
    if include_descendants:
        for child in descendants(pid):
            stat = read_stat(child)
            if stat is not None:
                ticks += stat.utime_ticks + stat.stime_ticks
    return ticks / CLOCK_TICKS_PER_SECOND


def rss_bytes(pid: int, *, include_descendants: bool = True) -> int | None:
    """Current resident set size of ``pid`` (and its tree); None if ``pid`` is gone."""
    pids = [pid, *descendants(pid)] if include_descendants else [pid]
    total = None
    for each in pids:
        text = _read(f"/proc/{each}/status")
        value = parse_status_kb(text, "VmRSS") if text is not None else None
        if value is not None:
            total = (total or 0) + value
    return total


def hwm_bytes(pid: int) -> int | None:
    """Lifetime peak RSS (``VmHWM``) of ``pid`` alone."""
    text = _read(f"/proc/{pid}/status")
    return parse_status_kb(text, "VmHWM") if text is not None else None


class PeakRssSampler:
    """Samples the RSS of a process tree on a thread and keeps the peak.

    Usage: ``sampler.start()`` ... ``peak = sampler.stop()`` (bytes, None if
    no sample succeeded). One sample is taken immediately on start and one on
    stop, so even a run shorter than the interval has a value.
    """

    def __init__(self, pid: int, *, interval_s: float = 0.1, include_descendants: bool = True) -> None:
        self.pid = pid
        self.interval_s = interval_s
        self.include_descendants = include_descendants
        self.peak_bytes: int | None = None
        self.samples = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sample(self) -> None:
        value = rss_bytes(self.pid, include_descendants=self.include_descendants)
        if value is not None:
            self.samples += 1
            if self.peak_bytes is None or value > self.peak_bytes:
                self.peak_bytes = value

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("sampler already started")
        self.sample()
        self._thread = threading.Thread(target=self._loop, name=f"rss-sampler-{self.pid}", daemon=True)
        self._thread.start()

    def stop(self) -> int | None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()
        return self.peak_bytes


def listening_pid(port: int) -> int | None:
    """The process listening on TCP ``port`` on this machine (a local database), or None.

    Found as the kernel shows it: the listening socket's inode in
    ``/proc/net/tcp`` (and ``tcp6``), then the process holding that socket
    among ``/proc/*/fd``. None when nothing here listens on the port, or the
    listener belongs to a process we may not inspect.
    """
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        text = _read(table) or ""
        for line in text.splitlines()[1:]:
            fields = line.split()
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])  # state 0A is LISTEN
    if not inodes:
        return None
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            descriptors = os.listdir(f"/proc/{entry}/fd")
        except (FileNotFoundError, PermissionError, ProcessLookupError):
            continue
        for descriptor in descriptors:
            try:
                if os.readlink(f"/proc/{entry}/fd/{descriptor}") in wanted:
                    return int(entry)
            except OSError:
                continue
    return None
