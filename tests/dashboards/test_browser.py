"""End to end in a real browser: `streamlit run dashboards/app.py` on a free 127.0.0.1 port,
headless Debian Chromium driven by Playwright, every page visited, its charts rendered, no
exception shown; a screenshot per page in warehouse/screenshots/<page>.png.

The app reads the fixture warehouse (warehouse_fixture.py), or DASHBOARDS_TEST_SERVING_DB if set
(e.g. a demo warehouse published by `make run`, for realistic screenshots).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.dashboards.conftest import APP, PAGES, PROJECT

pytestmark = pytest.mark.e2e  # the app in headless Chromium

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = PROJECT / "warehouse" / "screenshots"
# Charts (Altair / Vega-Lite) each page draws with the fixture's data; dataframes likewise.
MIN_CHARTS = {
    "charge_points": 7,
    "revenue": 1,
    "team_revenue": 1,
    "invoices": 0,
    "roaming": 7,
    "failed_charges": 7,
    "site_utilization": 5,
    "reliability": 5,
}
MIN_TABLES = {
    "charge_points": 2,
    "revenue": 3,
    "team_revenue": 3,
    "invoices": 2,
    "roaming": 3,
    "failed_charges": 4,
    "site_utilization": 2,
    "reliability": 4,
}
TITLES = {
    "charge_points": "Charge points",
    "revenue": "Revenue",
    "team_revenue": "Team revenue",
    "invoices": "Invoices",
    "roaming": "Roaming charges",
    "failed_charges": "Failed charges",
    "site_utilization": "Site utilization",
    "reliability": "Reliability and operations",
}


def ensure_chromium() -> str:
    """Debian's chromium; installed with apt-get when missing. Fails (never skips) if it cannot be."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    log = []
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
        try:
            proc = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                timeout=900,
                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            pytest.fail(f"{CHROMIUM} is missing and `{' '.join(cmd)}` could not run: {exc}")
        log.append(proc.stdout[-2000:] + proc.stderr[-2000:])
        if proc.returncode != 0:
            pytest.fail(f"{CHROMIUM} is missing and `{' '.join(cmd)}` failed (exit {proc.returncode}):\n{log[-1]}")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"`apt-get install -y chromium` succeeded but {CHROMIUM} is still missing:\n{log[-1]}")
    return CHROMIUM


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def running_app(serving_tables, tmp_path):
    serving = Path(os.environ.get("DASHBOARDS_TEST_SERVING_DB") or serving_tables[0])
    port = free_port()
    log = tmp_path / "streamlit.log"
    env = {**os.environ, "SERVING_DB": str(serving), "PYTHONUNBUFFERED": "1"}
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(APP),
                "--server.address",
                "127.0.0.1",
                "--server.port",
                str(port),
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
                "--server.fileWatcherType",
                "none",
            ],
            cwd=PROJECT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                pytest.fail(f"streamlit did not come up on port {port}:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield f"http://127.0.0.1:{port}", log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _wait_rendered(page, key: str, timeout_ms: int = 30000) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        _wait(page, key, timeout_ms)
    except PlaywrightTimeout:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{key}.timeout.png"), full_page=True)
        state = page.evaluate("""() => ({
            charts: document.querySelectorAll('[data-testid="stVegaLiteChart"]').length,
            tables: document.querySelectorAll('[data-testid="stDataFrame"]').length,
            running: !!document.querySelector('[data-testid="stStatusWidget"]'),
            exceptions: [...document.querySelectorAll('[data-testid="stException"]')].map(e => e.innerText)})""")
        pytest.fail(f"page {key} did not finish rendering in {timeout_ms} ms: {state}")


def _wait(page, key: str, timeout_ms: int) -> None:
    page.locator("h1", has_text=TITLES[key]).first.wait_for(timeout=timeout_ms)
    page.wait_for_function(
        """([charts, tables]) => {
            if (document.querySelector('[data-testid="stStatusWidget"]')) return false;  // still running
            if (document.querySelector('[data-testid="stSkeleton"]')) return false;
            const cs = [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')];
            if (cs.length < charts) return false;
            const drawn = cs.every(c => {
                const el = c.querySelector('canvas, svg.marks');
                return el && el.getBoundingClientRect().width > 50 && el.getBoundingClientRect().height > 50;
            });
            const ts = document.querySelectorAll('[data-testid="stDataFrame"]').length;
            return drawn && ts >= tables;
        }""",
        arg=[MIN_CHARTS[key], MIN_TABLES[key]],
        timeout=timeout_ms,
        polling=100,
    )


def _wait_stable(page, timeout_s: float = 5.0) -> None:
    """Until every chart keeps its size for 0.4 s."""
    sizes = None
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        now = page.evaluate("""() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')]
            .map(c => { const r = (c.querySelector('canvas, svg.marks') || c).getBoundingClientRect();
                        return [Math.round(r.width), Math.round(r.height)]; })""")
        if now == sizes:
            return
        sizes = now
        page.wait_for_timeout(400)


@pytest.mark.browser
def test_every_page_renders_in_chromium(running_app):
    from playwright.sync_api import sync_playwright

    chromium = ensure_chromium()
    base, log = running_app
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    timings = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            page.goto(base + "/", wait_until="domcontentloaded")  # warm-up: first session + imports
            _wait_rendered(page, "charge_points", timeout_ms=60000)
            for key, (_, url) in PAGES.items():
                page.set_viewport_size({"width": 1920, "height": 1080})
                t0 = time.perf_counter()
                page.goto(f"{base}/{url}", wait_until="domcontentloaded")
                _wait_rendered(page, key)
                timings[key] = round(time.perf_counter() - t0, 2)
                exceptions = page.locator('[data-testid="stException"]')
                assert exceptions.count() == 0, f"{key}: {exceptions.first.inner_text()}"
                assert "Traceback" not in page.inner_text("body"), key
                _wait_stable(page)  # vega re-lays out once the container width is known
                height = page.evaluate("""() => {
                    const m = document.querySelector('[data-testid="stMain"]')
                           || document.querySelector('[data-testid="stAppViewContainer"]');
                    return Math.max(m ? m.scrollHeight : 0, document.body.scrollHeight);
                }""")
                page.set_viewport_size({"width": 1920, "height": min(max(1080, int(height) + 40), 8000)})
                _wait_stable(page)
                page.screenshot(path=str(SCREENSHOTS / f"{key}.png"), full_page=True)
        finally:
            browser.close()
    (SCREENSHOTS / "timings.json").write_text(json.dumps(timings, indent=2))
    print("browser render times (s):", timings)
    assert set(timings) == set(PAGES)
    slow = {k: v for k, v in timings.items() if v > 10}
    assert not slow, f"pages slower than 10 s in the browser: {slow}\n{log.read_text()[-2000:]}"
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
