"""``animal-spot review`` as a user starts it: a process serving 127.0.0.1 until Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from .conftest import Folder


def listening_addresses(port: int) -> set[str]:
    """Local addresses (hex, as /proc/net/tcp writes them) listening on ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def test_review_serves_the_page_on_127_0_0_1_and_stops_on_ctrl_c(folder: Folder):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "animal_spot.cli", "review", str(folder.predictions)]
    command += ["--audio_dir", str(folder.audio), "--port", "0"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        # Read the start-up lines through the same buffer (communicate reads the pipe itself).
        lines = [process.stdout.readline()]
        while lines[-1] and not lines[-1].startswith("evaluate with them"):
            lines.append(process.stdout.readline())
        started = "".join(lines)
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", started)
        assert match, started + process.stderr.read()
        port = int(match.group(1))
        with urllib.request.urlopen(match.group(0), timeout=20) as response:
            assert response.status == 200
            assert "animal-spot review" in response.read().decode("utf-8")
        if Path("/proc/net/tcp").exists():
            assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1 only
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert f"verdicts go to {folder.reviewed}" in started
    assert f"animal-spot prepare --raven_dir {folder.reviewed}" in started
    assert f"--references {folder.reviewed}" in started
    assert "stopped; 0 verdicts" in out
