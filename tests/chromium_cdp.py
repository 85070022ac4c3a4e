"""A headless Chromium driven over the DevTools protocol, for tests that look at a page as a browser draws it.

`open_page(path) -> PageResult`: loads a local file in headless Chromium (Debian's `chromium`), waits for the load
event, and returns the console messages and errors it logged (Runtime and Log domains), every network request the
page made beyond the file itself, the bounding boxes of the elements matching a selector, and a full-page PNG
screenshot. `find_chromium()` is None when no browser is installed (tests then skip with a reason).

Flags: those that work in a container as root without a GPU or a network (no sandbox, no GPU, no QUIC, no first
run, no background networking, component updates or sync) and a new empty profile per run. The DevTools port is
chosen by Chromium (port 0) and read from the profile's DevToolsActivePort file.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--remote-debugging-port=0", "--remote-allow-origins=*")
HANG_GUARD_S = 120  # a browser that never answers fails the test instead of hanging it (not a speed limit)


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class PageResult:
    console: list[dict[str, Any]] = field(default_factory=list)  # {"level", "text"}
    requests: list[str] = field(default_factory=list)  # URLs requested other than the page's own
    boxes: list[dict[str, Any]] = field(default_factory=list)  # {"id", "width", "height"}
    screenshot: bytes = b""

    def errors(self) -> list[dict[str, Any]]:
        return [m for m in self.console if m["level"] in ("error", "exception")]


class _Cdp:
    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        call_id = next(self.ids)
        self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=HANG_GUARD_S))
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method: str) -> None:
        if any(e.get("method") == method for e in self.events):
            return
        while True:
            message = json.loads(self.ws.recv(timeout=HANG_GUARD_S))
            self.events.append(message)
            if message.get("method") == method:
                return


def open_page(path: Path, selector: str = "svg.chart", width: int = 1280) -> PageResult:
    browser = find_chromium()
    if browser is None:
        raise RuntimeError("no chromium")
    profile = tempfile.mkdtemp(prefix="aimux-chromium-")
    proc = subprocess.Popen([browser, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        from websockets.sync.client import connect

        with connect(_page_socket(profile, proc), max_size=64 * 1024 * 1024, open_timeout=HANG_GUARD_S) as ws:
            return _drive(_Cdp(ws), Path(path).resolve().as_uri(), selector, width)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)


def _page_socket(profile: str, proc: subprocess.Popen) -> str:
    """The WebSocket URL of the browser's first page, once its DevTools port is written."""
    port_file = Path(profile) / "DevToolsActivePort"
    for _ in range(HANG_GUARD_S * 10):
        if proc.poll() is not None:
            raise RuntimeError(f"chromium exited with {proc.returncode} before opening its DevTools port")
        if port_file.exists() and port_file.read_text().strip():
            port = port_file.read_text().split()[0]
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as reply:
                pages = [t for t in json.load(reply) if t.get("type") == "page"]
            if pages:
                return pages[0]["webSocketDebuggerUrl"]
        time.sleep(0.1)
    raise RuntimeError("chromium never opened its DevTools port")


def _drive(cdp: _Cdp, url: str, selector: str, width: int) -> PageResult:
    for domain in ("Page", "Runtime", "Log", "Network"):
        cdp.call(f"{domain}.enable")
    cdp.call("Emulation.setDeviceMetricsOverride", width=width, height=900, deviceScaleFactor=1, mobile=False)
    cdp.call("Page.navigate", url=url)
    cdp.wait_for("Page.loadEventFired")
    sizes = cdp.call("Runtime.evaluate", returnByValue=True, expression=(
        "JSON.stringify([...document.querySelectorAll(%s)].map(e => {const r = e.getBoundingClientRect();"
        " return {id: e.id, width: r.width, height: r.height};}))" % json.dumps(selector)))
    shot = cdp.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    result = PageResult(boxes=json.loads(sizes["result"]["value"]), screenshot=base64.b64decode(shot["data"]))
    for event in cdp.events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            result.console.append({"level": params.get("type"), "text": text})
        elif method == "Runtime.exceptionThrown":
            result.console.append({"level": "exception", "text": str(params.get("exceptionDetails"))})
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            result.console.append({"level": entry.get("level"), "text": entry.get("text", "")})
        elif method == "Network.requestWillBeSent":
            requested = params.get("request", {}).get("url", "")
            if requested != url:
                result.requests.append(requested)
    return result


if __name__ == "__main__":  # look at a page by hand: python tests/chromium_cdp.py report.html shot.png
    import sys

    page = open_page(Path(sys.argv[1]))
    Path(sys.argv[2]).write_bytes(page.screenshot)
    print(json.dumps({"console": page.console, "requests": page.requests, "boxes": page.boxes}, indent=1))
    os._exit(0)
