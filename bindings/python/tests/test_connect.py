"""`linli.connect`: Python beside a running daemon (`linli run`), through its local HTTP API.

The daemon runs as a child process on a community node's data directory (API on port 0;
its address is read from what it prints and the file it writes, polled with a deadline).
The same calls then run on the store opened here once the daemon stopped, and must give
equal results and the same exceptions.
"""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

import linli
from conftest import District

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples" / "python"
DEADLINE = 30.0  # seconds any single wait may take


def linli_bin() -> Path:
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    p = Path(os.environ.get("LINLI_BIN", target / "debug" / "linli"))
    if not p.exists():
        pytest.fail(f"{p} does not exist: run `cargo build -p linli-node` first (or set LINLI_BIN)")
    return p


def wait_until(what: str, probe: Callable[[], Any], deadline: float = DEADLINE) -> Any:
    """Polls `probe` until it returns something truthy; fails naming `what` after `deadline`."""
    end = time.monotonic() + deadline
    while True:
        got = probe()
        if got:
            return got
        if time.monotonic() > end:
            pytest.fail(f"timed out after {deadline} s waiting for {what}")
        time.sleep(0.05)


class Daemon:
    """`linli run` on `dir`, stopped by its pid."""

    def __init__(self, dir: Path) -> None:
        self.dir = dir
        env = dict(os.environ, RUST_LOG="warn", NO_COLOR="1")
        self.proc = subprocess.Popen(
            [str(linli_bin()), "--dir", str(dir), "run", "--listen", "/ip4/127.0.0.1/tcp/0",
             "--api", "127.0.0.1:0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.addr = wait_until("the daemon's api line", self._api_line)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def _api_line(self) -> Optional[str]:
        if self.proc.poll() is not None:
            pytest.fail(f"linli run exited with {self.proc.returncode}: {self.lines}")
        if not (self.dir / "api.addr").exists():
            return None
        for line in self.lines:
            if line.startswith("api "):
                return (self.dir / "api.addr").read_text().strip()
        return None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # this pid only
            try:
                self.proc.wait(timeout=DEADLINE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=DEADLINE)


@pytest.fixture
def daemon(district: District) -> Iterator[Daemon]:
    node = district.community("dianye")
    path = node.path
    node.close()
    d = Daemon(path)
    try:
        yield d
    finally:
        d.stop()


def connect(d: Daemon) -> linli.Node:
    """Connects, retrying while the daemon's API does not answer yet (within the deadline)."""

    def attempt() -> Optional[linli.Node]:
        try:
            return linli.connect(d.dir)
        except linli.LinliError as e:
            if "does not answer" in str(e) or "no daemon answers" in str(e):
                return None
            raise

    node: linli.Node = wait_until("the daemon's API to answer", attempt)
    return node


def test_connect_writes_reads_and_raises_like_an_opened_store(daemon: Daemon) -> None:
    with connect(daemon) as node:
        assert node.remote and node.org == "dianye"
        status = node.status()
        assert isinstance(status, linli.NodeStatus)
        assert status.node_id == node.node_id and status.path == daemon.dir

        # Writes: a new document (linli-core's NewDoc) and an operation on it.
        ledger = node.create_ledger(2026, "beishi", hand_points=True)
        entry = node.record_service(ledger, "dianye:1", "gardening", "2026-03-01", 2.5)
        assert entry.startswith("dianye@")

        # Reads come back as the generated result classes.
        board = node.leaderboard(ledger)
        assert [(s.volunteer, s.earned, s.minutes) for s in board] == [
            ("dianye:1", Decimal("2.5"), 150)
        ]
        entries = list(node.ledger_entries(ledger))
        assert [(e.id, e.kind, e.date, e.points) for e in entries] == [
            (entry, "service", datetime.date(2026, 3, 1), Decimal("2.5"))
        ]
        assert entries[0].at.tzinfo is not None
        assert node.balance("dianye:1") == Decimal("2.5")
        # A room and a booking: times travel as RFC 3339 and come back timezone-aware.
        room = node.create_room("beishi", "hall", 20)
        shanghai = datetime.timezone(datetime.timedelta(hours=8))
        start = datetime.datetime(2031, 5, 6, 19, 0, tzinfo=shanghai)
        end = datetime.datetime(2031, 5, 6, 21, 0, tzinfo=shanghai)
        booking = node.request_booking(room, "王小红", "reading club", start, end, 8)
        node.confirm_booking(room, booking)
        bookings = node.bookings(room)
        assert [(b.id, b.booker, b.status, b.confirmed_start, b.confirmed_end) for b in bookings] == [
            (booking, "王小红", "confirmed", start, end)
        ]
        docs = node.documents()
        assert sorted(d.kind for d in docs) == ["federation", "ledger", "resource"]

        # Errors: the daemon's refusals raise the exceptions the opened store raises.
        with pytest.raises(linli.LinliError, match="overdraw") as over:
            node.redeem(ledger, "dianye:1", "towel", 100, "shop")
        assert type(over.value) is not linli.LinliError  # a class of the error table
        missing = "00" * 32
        with pytest.raises(linli.NotFoundError):
            node.bookings(missing)
        # What needs the store in this process says so.
        with pytest.raises(linli.LinliError, match="running daemon"):
            node.subscribe()
        with pytest.raises(linli.LinliError, match="running daemon"):
            node.sync_with("/ip4/127.0.0.1/tcp/9")

        # Export files are written and read by the daemon.
        exported = node.export(daemon.dir.parent / "through-daemon.linli")
        assert isinstance(exported, linli.ExportSummary)
        assert exported.path == daemon.dir.parent / "through-daemon.linli"
        assert exported.changes > 0 and exported.path.stat().st_size == exported.bytes
        imported = node.import_(exported.path)
        assert isinstance(imported, linli.ImportReport)
        assert (imported.entries, imported.duplicates, imported.invalid, imported.complete) == (
            exported.changes, exported.changes, [], True
        )

        # The partner example reads through the daemon.
        ran = subprocess.run(
            [sys.executable, str(EXAMPLES / "volunteer_balances.py"), str(daemon.dir)],
            capture_output=True, text=True, timeout=300,
        )
        assert ran.returncode == 0, ran.stderr
        assert "read from the daemon" in ran.stderr
        assert ",2026,dianye:1,2.50,2.50,0\n" in ran.stdout, ran.stdout

        # Opening the store beside the running daemon still fails.
        with pytest.raises(linli.StorageError, match="linli.connect"):
            linli.Node.open(daemon.dir)

    # The daemon runs on after the handle is closed.
    assert daemon.proc.poll() is None
    daemon.stop()

    # The same calls on the store opened here: equal results, the same exceptions.
    with linli.Node.open(daemon.dir) as local:
        assert not local.remote
        assert local.leaderboard(ledger) == board
        assert list(local.ledger_entries(ledger)) == entries
        assert local.documents() == docs
        assert local.bookings(room) == bookings
        with pytest.raises(type(over.value)) as again:
            local.redeem(ledger, "dianye:1", "towel", 100, "shop")
        assert str(again.value) == str(over.value)
        with pytest.raises(linli.NotFoundError):
            local.bookings(missing)
        assert local.import_(exported.path) == imported

    # Without the daemon the example opens the store itself, and prints the same rows.
    again_ran = subprocess.run(
        [sys.executable, str(EXAMPLES / "volunteer_balances.py"), str(daemon.dir)],
        capture_output=True, text=True, timeout=300,
    )
    assert again_ran.returncode == 0, again_ran.stderr
    assert "read from the store" in again_ran.stderr
    assert again_ran.stdout == ran.stdout


def test_connect_without_a_daemon_says_so(tmp_path: Path) -> None:
    node = linli.Node.init(tmp_path / "n", org="dianye")
    node.close()
    with pytest.raises(linli.LinliError, match="no daemon runs"):
        linli.connect(tmp_path / "n")
    # A stale address (a daemon that is gone) is reported, not hung on.
    (tmp_path / "n" / "api.addr").write_text("127.0.0.1:9\n")
    (tmp_path / "n" / "api.token").write_text("t\n")
    with pytest.raises(linli.LinliError, match="no daemon answers"):
        linli.connect(tmp_path / "n")
