"""Reading /proc: parsing, and sampling the current process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from bench import procstat

STAT_LINE = (
    "4242 (weird) name (x)) S 1 4242 4242 0 -1 4194560 1000 0 0 0 "
    "150 30 7 3 20 0 9 0 12345 100000000 5000 18446744073709551615"
)


def test_parse_stat_splits_after_the_last_parenthesis() -> None:
    fields = procstat.parse_stat(STAT_LINE)
    assert fields.ppid == 1
    assert (fields.utime_ticks, fields.stime_ticks, fields.cutime_ticks, fields.cstime_ticks) == (
        150,
        30,
        7,
        3,
    )


def test_parse_status_reads_kilobytes_as_bytes() -> None:
    text = "Name:\tpython\nVmHWM:\t  20480 kB\nVmRSS:\t   10240 kB\n"
    assert procstat.parse_status_kb(text, "VmRSS") == 10240 * 1024
    assert procstat.parse_status_kb(text, "VmHWM") == 20480 * 1024
    assert procstat.parse_status_kb(text, "VmSwap") is None


def test_cpu_seconds_of_this_process_grows_with_work() -> None:
    before = procstat.cpu_seconds(os.getpid(), include_descendants=False)
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:
        pass
    after = procstat.cpu_seconds(os.getpid(), include_descendants=False)
    assert after - before >= 0.2
    # /proc and the process's own accounting (reaped children included) agree to within a few ticks
    own = os.times()
    total = own.user + own.system + own.children_user + own.children_system
    assert abs(after - total) < 0.1 + 5 / procstat.CLOCK_TICKS_PER_SECOND


def test_rss_of_this_process_is_plausible_and_within_hwm() -> None:
    rss = procstat.rss_bytes(os.getpid(), include_descendants=False)
    hwm = procstat.hwm_bytes(os.getpid())
    assert rss is not None and hwm is not None
    assert 5 * 1024 * 1024 < rss <= hwm


def test_a_vanished_process_reads_as_none_or_raises() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert procstat.rss_bytes(child.pid) is None
    assert procstat.hwm_bytes(child.pid) is None
    with pytest.raises(ProcessLookupError):
        procstat.cpu_seconds(child.pid)


def test_descendants_and_tree_totals_include_a_child() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while child.pid not in procstat.descendants(os.getpid()):
            assert time.monotonic() < deadline, "child never showed up in /proc"
            time.sleep(0.01)
        alone = procstat.rss_bytes(os.getpid(), include_descendants=False)
        tree = procstat.rss_bytes(os.getpid())
        assert alone is not None and tree is not None and tree > alone
    finally:
        child.communicate(b"")


def test_peak_sampler_sees_a_temporary_allocation() -> None:
    sampler = procstat.PeakRssSampler(os.getpid(), interval_s=0.01, include_descendants=False)
    sampler.start()
    baseline = sampler.peak_bytes
    assert baseline is not None
    ballast = bytearray(64 * 1024 * 1024)
    for offset in range(0, len(ballast), 4096):  # touch every page so it is resident
        ballast[offset] = 1
    deadline = time.monotonic() + 10
    while (sampler.peak_bytes or 0) < baseline + 48 * 1024 * 1024:
        assert time.monotonic() < deadline, "sampler never saw the allocation"
        time.sleep(0.01)
    del ballast
    peak = sampler.stop()
    assert peak is not None and peak >= baseline + 48 * 1024 * 1024
    assert sampler.samples >= 2


def test_sampler_of_a_short_run_still_has_a_value() -> None:
    sampler = procstat.PeakRssSampler(os.getpid(), interval_s=60)
    sampler.start()
    assert sampler.stop() is not None


def test_the_listener_of_a_port_is_found() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        assert procstat.listening_pid(port) is None  # bound, not yet listening
        listener.listen()
        assert procstat.listening_pid(port) == os.getpid()
    assert procstat.listening_pid(port) is None
