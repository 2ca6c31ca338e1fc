"""The HTML report in a real browser: Debian's headless Chromium, driven over the DevTools pipe.

The page must load with no console errors or exceptions, show every lecture section and every figure
with a non-zero size, request nothing from the network, and a screenshot is saved. The test skips,
saying why, only where Chromium is not installed (``./setup.sh`` installs it).

Run by hand to look at a report: ``python3 tests/test_browser.py reports/latest/index.html shot.png``.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--hide-scrollbars", "--remote-debugging-pipe"]

# Runs in the page: what the test asserts on, gathered in one round trip.
PROBE = """JSON.stringify((() => {
  const vis = el => { const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none'; };
  return {
    title: document.title,
    sections: [...document.querySelectorAll('section.lecture')].map(s => ({id: s.dataset.section, visible: vis(s),
        heading: (s.querySelector('h2') || {}).textContent || ''})),
    figures: [...document.querySelectorAll('figure')].map(f => ({id: f.id, visible: vis(f), cls: f.className,
        svg: f.querySelectorAll('svg').length, svgVisible: [...f.querySelectorAll('svg')].every(vis)})),
    claims: document.querySelectorAll('tr.claim').length,
    resources: performance.getEntriesByType('resource').map(r => r.name),
    height: document.documentElement.scrollHeight,
  }; })())"""


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """A headless Chromium and one page, spoken to over ``--remote-debugging-pipe`` (fds 3 and 4)."""

    def __init__(self, exe: str, timeout: float = 90.0):
        self.timeout, self.events, self._buf, self._id = timeout, [], b"", 0
        self.profile = tempfile.mkdtemp(prefix="cnnspec-chromium-")
        to_child, self._w = os.pipe()
        self._r, from_child = os.pipe()

        def fds():  # in the child: our pipe ends become fds 3 (commands in) and 4 (replies out)
            a, b = os.dup(to_child), os.dup(from_child)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen([exe, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
                                     preexec_fn=fds, close_fds=False, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        os.close(to_child)
        os.close(from_child)
        page = next(t for t in self.call("Target.getTargets")["targetInfos"] if t["type"] == "page")
        self.session = self.call("Target.attachToTarget", targetId=page["targetId"], flatten=True)["sessionId"]
        for domain in ("Runtime", "Page", "Log", "Network"):
            self.call(f"{domain}.enable", session=True)

    def call(self, method: str, session: bool = False, **params):
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = self.session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        reply = self._wait(lambda m: m.get("id") == self._id)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def _wait(self, pred):
        deadline = time.monotonic() + self.timeout
        while True:
            while b"\0" in self._buf:
                raw, self._buf = self._buf.split(b"\0", 1)
                m = json.loads(raw)
                if pred(m):
                    return m
                self.events.append(m)
            if time.monotonic() > deadline:
                raise TimeoutError(f"no reply from Chromium in {self.timeout} s")
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buf += chunk

    def open(self, path: Path, width: int = 1400) -> None:
        self.call("Emulation.setDeviceMetricsOverride", session=True, width=width, height=900,
                  deviceScaleFactor=1, mobile=False)
        self.call("Page.navigate", session=True, url=path.resolve().as_uri())
        if not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            self._wait(lambda m: m.get("method") == "Page.loadEventFired")

    def evaluate(self, expr: str):
        res = self.call("Runtime.evaluate", session=True, expression=expr, returnByValue=True)
        if "exceptionDetails" in res:
            raise RuntimeError(res["exceptionDetails"])
        return json.loads(res["result"]["value"])

    def screenshot(self, out: Path, full: bool = True, clip: tuple[int, int, int, int] | None = None) -> Path:
        """The whole page (``full``), the viewport, or ``clip = (x, y, width, height)``."""
        params = {"format": "png", "captureBeyondViewport": full or clip is not None}
        if clip:
            params["clip"] = dict(zip(("x", "y", "width", "height"), clip), scale=1)
        out.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", session=True, **params)["data"]))
        return out

    def problems(self) -> list[str]:
        """Console errors, uncaught exceptions, log errors and network requests that are not file://."""
        out = []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert", "warning"):
                out.append(f"console.{p['type']}: " + " ".join(str(a.get("value", a.get("description")))
                                                             for a in p.get("args", [])))
            elif m == "Runtime.exceptionThrown":
                out.append(f"exception: {p.get('exceptionDetails', {}).get('text')}")
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append(f"log: {p['entry'].get('text')} {p['entry'].get('url', '')}")
            elif m == "Network.requestWillBeSent":
                url = p.get("request", {}).get("url", "")
                if not url.startswith(("file:", "data:", "about:")):
                    out.append(f"network request: {url}")
        return out

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except Exception:  # noqa: BLE001 - it may already be gone
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._w)
        os.close(self._r)
        shutil.rmtree(self.profile, ignore_errors=True)


def inspect(html: Path, screenshot: Path) -> tuple[dict, list[str]]:
    exe = chromium()
    assert exe, "chromium is not installed"
    b = Browser(exe)
    try:
        b.open(html)
        info = b.evaluate(PROBE)
        b.screenshot(screenshot)
        time.sleep(0.2)
        return info, b.problems()
    finally:
        b.close()


# --- the test -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """A real report: the spec stage of ``cnnspec verify`` plus a failing conformance claim."""
    if not chromium():
        pytest.skip("Chromium is not installed (Debian package 'chromium'; ./setup.sh installs it)")
    from tests.test_report import failing_report_parts

    from cnnspec.report.output import write_report_dir
    from cnnspec.stages import run_verify

    out = tmp_path_factory.mktemp("browser")
    report = run_verify(["spec", "arch"], out=None, seed=0, progress=None,
                        claims=["conv.flip", "conv.receptive_field", "arch.lenet5.params"])
    extra_claims, extra_targets = failing_report_parts()
    report["claims"] += extra_claims
    report["targets"] = report.get("targets", []) + extra_targets
    report["artifacts"] += training_artifacts()
    report["verdict"] = "fail"
    write_report_dir(report, out)
    shot = Path(os.environ.get("CNNSPEC_SCREENSHOT_DIR", out)) / "report-screenshot.png"
    info, problems = inspect(out / "index.html", shot)
    return report, info, problems, shot


def training_artifacts() -> list[dict]:
    """Curves and a confusion matrix in the shapes the training stage writes (no training here)."""
    from cnnspec.report.sections import curves

    hist = {m: [{"epoch": e, "train_loss": 2.0 / (e + d), "test_acc": 0.7 + 0.05 * e - d / 50}
                for e in (1, 2, 3, 4)] for m, d in (("plain20", 1), ("resnet20", 0))}
    cm = [[90 if i == j else (i * 7 + j * 3) % 5 for j in range(10)] for i in range(10)]
    return [curves("lenet.curves.test", "lenet", "LeNet-5 curves", {"lenet5": hist["resnet20"]}, 0.9),
            {"id": "lenet.confusion.test", "section": "lenet", "type": "confusion", "matrix": cm,
             "classes": [f"class <{i}>" for i in range(10)], "title": "confusion"},
            curves("resnet.curves.test", "resnet", "plain vs residual", hist, None)]


def test_page_loads_without_console_errors_or_network(rendered):
    _, info, problems, _ = rendered
    assert problems == []
    assert info["resources"] == []          # self-contained: no stylesheet, script or image fetched
    assert info["title"].startswith("cnnspec")


def test_every_section_and_figure_is_visible(rendered):
    from cnnspec.report.sections import SECTIONS

    report, info, _, _ = rendered
    seen = {s["id"]: s for s in info["sections"]}
    for s in SECTIONS:
        assert s.id in seen, f"section {s.id} missing from the page"
        assert seen[s.id]["visible"], f"section {s.id} is not visible"
    assert len(info["figures"]) == len([a for a in report["artifacts"] if a["type"] != "note"])
    for f in info["figures"]:
        assert f["visible"] and f["svgVisible"], f"figure {f['id']} is not visible"
        if f["cls"] == "figure":          # a drawn figure, not a table
            assert f["svg"] >= 1, f"figure {f['id']} has no drawing"
    drawn = {a["type"] for a in report["artifacts"]}
    assert drawn >= {"heatmap", "graph", "panels", "curves", "confusion", "table", "derivation", "matrix"}
    assert info["claims"] == len(report["claims"])


def test_screenshot_is_a_png_of_the_whole_page(rendered):
    _, info, _, shot = rendered
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    height = int.from_bytes(data[20:24], "big")
    assert height >= min(info["height"], 16000) - 2


def tiles(html: Path, prefix: str, width: int = 1400, height: int = 1100) -> list[Path]:
    """The page cut into screen-sized PNGs (``prefix-0.png`` …), for a person to look at."""
    b = Browser(chromium())
    try:
        b.open(html, width)
        total = b.evaluate("JSON.stringify(document.documentElement.scrollHeight)")
        return [b.screenshot(Path(f"{prefix}-{i}.png"), clip=(0, y, width, min(height, total - y)))
                for i, y in enumerate(range(0, total, height))]
    finally:
        b.close()


if __name__ == "__main__":
    page, shot = Path(sys.argv[1]), Path(sys.argv[2] if len(sys.argv) > 2 else "report-screenshot.png")
    info, problems = inspect(page, shot)
    print(json.dumps({"problems": problems, "sections": [s["id"] for s in info["sections"] if s["visible"]],
                      "figures": len(info["figures"]), "claims": info["claims"],
                      "resources": info["resources"]}))
    print("tiles:", *tiles(page, str(shot.with_suffix(""))))
