"""The prediction and evaluation reports in a real headless Chromium: no console errors, every
image drawn. Screenshots are kept beside the test's files.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import console_errors, open_browser, save_screenshot

from .conftest import Chain


@pytest.mark.parametrize("kind", ["predictions", "evaluation"])
def test_a_report_opens_offline_with_every_image_drawn_and_no_console_error(
    chain: Chain, kind: str, tmp_path: Path
):
    report = getattr(chain, kind) / "report.html"
    with open_browser() as driver:
        driver.get(report.resolve().as_uri())
        assert driver.execute_script("return document.readyState") == "complete"
        widths = driver.execute_script(
            "return Array.from(document.images).map(i => i.complete ? i.naturalWidth : 0)"
        )
        assert widths and all(width > 0 for width in widths), widths
        assert console_errors(driver) == []
        ids = driver.execute_script(
            "return Array.from(document.querySelectorAll('section')).map(s => s.id)"
        )
        assert "summary" in ids
        shot = save_screenshot(driver, tmp_path / f"{kind}.png")
    assert shot.stat().st_size > 10_000
