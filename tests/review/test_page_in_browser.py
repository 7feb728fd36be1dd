"""The review page in a real headless Chromium: keys mark detections, tables appear on disk."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from animal_spot.review import create_app, read_verdict_table
from animal_spot.review.server import bind, url_of
from tests.browser import console_errors, open_browser, save_screenshot

from .conftest import Folder


@pytest.fixture
def served(folder: Folder) -> Iterator[str]:
    """The review of ``folder`` served by uvicorn on 127.0.0.1 in a thread; yields its URL."""
    import uvicorn

    sock = bind(0)
    config = uvicorn.Config(
        create_app(folder.open()), log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield url_of(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def wait_for(condition, timeout_s: float = 15.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("the page did not get there in time")


def test_keys_mark_detections_and_each_verdict_lands_in_a_table(
    folder: Folder, served: str, tmp_path: Path
):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    with open_browser() as driver:
        driver.get(served)
        rows = wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "#rows tr"))
        assert len(rows) == 7
        # Default order: class, then score down: the first tone is a.wav at 1.00 s (0.95).
        image_loaded = "return document.getElementById('spectrogram').naturalWidth > 0"
        wait_for(lambda: driver.execute_script(image_loaded))
        assert "a.wav" in driver.find_element(By.ID, "info").text
        assert "1.00–1.50" in driver.find_element(By.ID, "info").text

        def press(key: str, n_reviewed: int) -> None:
            ActionChains(driver).send_keys(key).perform()
            progress = driver.find_element(By.ID, "progress")
            wait_for(lambda: progress.text.startswith(f"{n_reviewed} of 7 reviewed"))

        press("c", 1)  # a.wav 1.0 s: correct; on to a.wav 6.0 s (0.9)
        press(Keys.ARROW_DOWN, 1)  # skip it: a.wav 3.0 s (0.6)
        press("2", 2)  # relabel: class 2 is upsweep; on to b.wav 3.5 s (0.5)
        press("w", 3)  # not a call; on to a.wav 5.0 s (0.4)
        driver.find_element(By.CSS_SELECTOR, "button[data-verdict=correct]").click()
        wait_for(lambda: driver.find_element(By.ID, "progress").text.startswith("4 of 7"))
        wait_for(lambda: driver.execute_script(image_loaded))
        ActionChains(driver).send_keys(" ").perform()  # play the next one: b.wav 1.5 s
        playing = "return !document.getElementById('player').paused"
        wait_for(lambda: driver.execute_script(playing))
        save_screenshot(driver, tmp_path / "review.png")
        assert console_errors(driver) == []

    rows_a = read_verdict_table(folder.reviewed / "a.selections.txt")
    assert [(r.event.start_s, r.event.label, r.verdict) for r in rows_a] == [
        (1.0, "tone", "correct"),
        (3.0, "upsweep", "relabel"),
        (5.0, "tone", "correct"),
    ]
    rows_b = read_verdict_table(folder.reviewed / "site2" / "b.selections.txt")
    assert [(r.event.start_s, r.event.label, r.verdict) for r in rows_b] == [
        (3.5, "noise", "wrong")
    ]
    assert (tmp_path / "review.png").stat().st_size > 10_000
