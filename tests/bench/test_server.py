"""Starting, health-waiting and stopping the dev server, against a fake one."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import procstat, server
from bench.server import DevServer, DevServerOptions, ServerStartError

FAKE = Path(__file__).with_name("fake_dev_server.py")


@pytest.fixture(autouse=True)
def fake_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        server, "SERVER_ENTRY", f"import runpy; runpy.run_path({str(FAKE)!r}, run_name='__main__')"
    )


def test_command_line_per_store() -> None:
    base = DevServer.command(host="127.0.0.1", port=1234, options=DevServerOptions(), db_path="/tmp/a.db")
    assert base[-7:] == ["start-dev", "--ip", "127.0.0.1", "--port", "1234", "--db-file", "/tmp/a.db"]
    memory = DevServer.command(
        host="127.0.0.1", port=1, options=DevServerOptions(in_memory=True, extra_args=["--x"]), db_path=None
    )
    assert memory[-2:] == ["--in-memory", "--x"] and "--db-file" not in memory


async def test_starts_serves_is_measurable_and_stops() -> None:
    dev = await DevServer.start(DevServerOptions(startup_timeout_s=30))
    try:
        assert server.free_port() > 0
        assert await server.health_status(dev.address, timeout_s=5) == "SERVING"
        assert procstat.cpu_seconds(dev.pid) > 0
        assert (procstat.rss_bytes(dev.pid) or 0) > 0
        assert dev.store == "sqlite-file" and dev.db_path is not None and dev.db_path.endswith("bench.db")
        assert "fake start-dev" in dev.log_path.read_text()
    finally:
        code = dev.stop()
    assert code is not None
    assert not dev.workdir.exists()


async def test_in_memory_and_own_db_file(tmp_path: Path) -> None:
    dev = await DevServer.start(DevServerOptions(in_memory=True))
    try:
        assert dev.store == "sqlite-memory" and dev.db_path is None
    finally:
        dev.stop()
    dev = await DevServer.start(DevServerOptions(db_file=str(tmp_path / "mine.db")))
    try:
        assert dev.db_path == str(tmp_path / "mine.db")
        assert f"db={tmp_path / 'mine.db'}" in dev.log_path.read_text()
    finally:
        dev.stop()


async def test_a_server_that_exits_fails_fast_with_its_log() -> None:
    with pytest.raises(ServerStartError, match="exited with code 7") as failed:
        await DevServer.start(DevServerOptions(extra_args=["--fail"], startup_timeout_s=60))
    assert "on purpose" in str(failed.value)


async def test_a_server_that_never_serves_times_out() -> None:
    with pytest.raises(ServerStartError, match="not SERVING after") as failed:
        await DevServer.start(DevServerOptions(extra_args=["--status", "NOT_SERVING"], startup_timeout_s=8))
    if "fake start-dev on" in str(failed.value):  # on a loaded machine it may not have got as far as serving
        assert "last health answer: NOT_SERVING" in str(failed.value)


async def test_nothing_listening_is_reported_not_raised() -> None:
    status = await server.health_status(f"127.0.0.1:{server.free_port()}", timeout_s=0.5)
    assert status.startswith("rpc ")
