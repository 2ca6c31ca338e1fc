"""The HTML report in a real browser: Debian's headless Chromium, driven over the DevTools pipe.

Two real reports, a passing one (the spec and architecture stages of ``cnnspec verify``) and a
failing one (the same plus a NumPy conv2d that flips its kernel, validated by the conformance runner,
and a target with a warning), are opened at 420 px (a phone) and 1400 px (a desktop) wide. Asserted:
no console errors and no network; what a reader sees first (the verdict, then the first failing
panel within the first screen, its counterexample included); nothing overflows sideways at 420 px;
reproduction commands do not break inside a word; the filter and the search box work; every figure
has a size. Screenshots (first screen and whole page at both widths) go to ``$CNNSPEC_SCREENSHOT_DIR``
(default: the test's temporary folder) with ``measurements.json``. The test skips, saying why, only
where Chromium is not installed (``./setup.sh`` installs it).

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

import numpy as np
import pytest

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--hide-scrollbars", "--remote-debugging-pipe"]

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
        self.events = [e for e in self.events if e.get("method") != "Page.loadEventFired"]
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


# --- the reports ------------------------------------------------------------------------------------

def flipped_conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """A deliberately wrong ``conv2d`` (NumPy, NCHW): right in every respect but one, it flips the
    kernel (true convolution, where ``torch.nn.functional.conv2d`` computes cross-correlation)."""
    pair = lambda v: (int(v), int(v)) if np.isscalar(v) else tuple(int(t) for t in v)  # noqa: E731
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    x = np.pad(np.asarray(x), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    w = np.asarray(weight)[:, :, ::-1, ::-1]
    c_out, cpg, kh, kw = w.shape
    n, _, H, W = x.shape
    oh, ow = (H - dh * (kh - 1) - 1) // sh + 1, (W - dw * (kw - 1) - 1) // sw + 1
    rows = (np.arange(oh) * sh)[:, None] + np.arange(kh) * dh                  # (oh, kh)
    cols = (np.arange(ow) * sw)[:, None] + np.arange(kw) * dw                  # (ow, kw)
    win = x[:, :, rows[:, None, :, None], cols[None, :, None, :]]              # (n, c, oh, ow, kh, kw)
    opg = c_out // groups
    out = np.concatenate([np.einsum("ncyxij,ocij->noyx", win[:, g * cpg:(g + 1) * cpg], w[g * opg:(g + 1) * opg])
                          for g in range(groups)], axis=1)
    return out if bias is None else out + np.asarray(bias)[None, :, None, None]


def _spec_report() -> dict:
    from cnnspec.stages import run_verify

    report = run_verify(["spec", "arch"], out=None, seed=0, progress=None,
                        claims=["conv.flip", "conv.receptive_field", "conv.equivariance.stride", "arch.lenet5.params"])
    report["artifacts"] += training_artifacts()
    return report


def _failing_report(passing: dict) -> dict:
    from cnnspec.conformance.runner import validate_op
    from cnnspec.report.schema import finalize
    from cnnspec.report.sections import subject_name
    from tests.test_report import failing_report_parts

    target = "tests/test_browser.py:flipped_conv2d"
    results, info = validate_op(target, "conv2d", examples=10, seed=0, shrink_seconds=3.0,
                                claims=["conformance.conv.values", "conformance.conv.shape"])
    subject = subject_name(target, "conv2d", "cpu", "float32")
    report = json.loads(json.dumps(passing))
    report["claims"] += [{**r.to_json(), "stage": "conformance", "subject": subject} for r in results]
    report["targets"] = [{"subject": subject, "target": target, "op": "conv2d", "array": "numpy", "device": "cpu",
                          "dtype": "float32", "reproduce": f"cnnspec validate {target} --op conv2d --seed 0"}]
    more, targets = failing_report_parts()
    report["claims"] += more
    report["targets"] += targets
    return finalize(report)


def training_artifacts() -> list[dict]:
    """Curves and a confusion matrix in the shapes the training stage writes (no training here)."""
    from cnnspec.report.sections import curves

    hist = {m: [{"epoch": e, "train_loss": 2.0 / (e + d), "test_acc": 0.7 + 0.05 * e - d / 50}
                for e in (1, 2, 3, 4)] for m, d in (("plain20", 1), ("resnet20", 0))}
    cm = [[900 if i == j else (127 if (i, j) == (6, 0) else (i * 7 + j * 3) % 5) for j in range(10)] for i in range(10)]
    return [curves("lenet.curves.test", "lenet", "LeNet-5 curves", {"lenet5": hist["resnet20"]}, 0.9),
            {"id": "lenet.confusion.test", "section": "lenet", "type": "confusion", "matrix": cm,
             "classes": [f"class <{i}>" for i in range(10)], "title": "confusion"},
            curves("resnet.curves.test", "resnet", "plain vs residual", hist, None)]


# Runs in the page: what a reader sees, gathered in one round trip.
LAYOUT = """JSON.stringify((() => {
  const top = el => el ? Math.round(el.getBoundingClientRect().top + window.scrollY) : null;
  const panel = document.querySelector('article.panel.fail, article.panel.error');
  const cx = panel && [...panel.querySelectorAll('.side-title')].find(e => e.textContent === 'Counterexample');
  const cmds = [...document.querySelectorAll('pre.cmd')].map(p => getComputedStyle(p));
  const wide = [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1
      && !e.closest('.scroll, pre, figure, .formula, .side')).map(e => e.tagName + '.' + e.className).slice(0, 5);
  return {viewport: window.innerWidth, screen: window.innerHeight, scrollWidth: document.documentElement.scrollWidth,
    verdictTop: top(document.querySelector('.verdict')), firstPanelTop: top(panel), counterexampleTop: top(cx),
    firstPanelClaim: panel ? panel.dataset.claim : null, sectionsTop: top(document.querySelector('section.lecture')),
    cmdBreaks: cmds.map(s => s.wordBreak + '/' + s.overflowWrap), wide: wide,
    panels: document.querySelectorAll('article.panel').length,
    figures: [...document.querySelectorAll('figure')].map(f => { const r = f.getBoundingClientRect();
        return {id: f.id, w: Math.round(r.width), h: Math.round(r.height)}; }),
    sections: [...document.querySelectorAll('section.lecture')].map(s => s.dataset.section),
    rows: document.querySelectorAll('tr.claim').length, resources: performance.getEntriesByType('resource').length,
  }; })())"""

FILTER = """JSON.stringify((() => {
  const visible = () => [...document.querySelectorAll('tr.claim')].filter(r => r.offsetParent !== null)
      .map(r => r.dataset.status);
  const click = f => document.querySelector(`[data-filter="${f}"]`).click();
  click('failures'); const failures = visible();
  click('warnings'); const warnings = visible();
  click('all'); const q = document.getElementById('search'); q.value = 'equivariance';
  q.dispatchEvent(new Event('input')); const search = [...document.querySelectorAll('tr.claim')]
      .filter(r => r.offsetParent !== null).map(r => r.dataset.claim);
  q.value = ''; q.dispatchEvent(new Event('input'));
  return {failures, warnings, search, all: visible().length}; })())"""


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    """Both reports at both widths: the layout probe, the filter probe, console problems, screenshots."""
    if not chromium():
        pytest.skip("Chromium is not installed (Debian package 'chromium'; ./setup.sh installs it)")
    from cnnspec.report.output import write_report_dir

    base = tmp_path_factory.mktemp("browser")
    shot_dir = Path(os.environ.get("CNNSPEC_SCREENSHOT_DIR") or base / "shots")
    shot_dir.mkdir(parents=True, exist_ok=True)
    passing = _spec_report()
    reports = {"passing": passing, "failing": _failing_report(passing)}
    out: dict = {}
    b = Browser(chromium())
    try:
        for name, rep in reports.items():
            write_report_dir(rep, base / name)
            for width in (420, 1400):
                b.events.clear()
                b.open(base / name / "index.html", width)
                layout, filt = b.evaluate(LAYOUT), b.evaluate(FILTER)
                b.screenshot(shot_dir / f"{name}-{width}-first-screen.png", full=False)
                b.screenshot(shot_dir / f"{name}-{width}-page.png", full=True)
                time.sleep(0.1)
                out[name, width] = {"report": rep, "layout": layout, "filter": filt, "problems": b.problems()}
    finally:
        b.close()
    (shot_dir / "measurements.json").write_text(json.dumps(
        {f"{n}-{w}": {k: v for k, v in o["layout"].items() if k != "figures"} for (n, w), o in out.items()}, indent=1))
    return out, shot_dir


CASES = [(n, w) for n in ("passing", "failing") for w in (420, 1400)]


@pytest.mark.parametrize("name, width", CASES)
def test_the_page_loads_offline_without_console_errors(shots, name, width):
    o = shots[0][name, width]
    assert o["problems"] == [] and o["layout"]["resources"] == 0


@pytest.mark.parametrize("name, width", CASES)
def test_nothing_overflows_sideways_and_commands_do_not_break_inside_words(shots, name, width):
    lay = shots[0][name, width]["layout"]
    assert lay["scrollWidth"] <= lay["viewport"], lay["wide"]
    assert lay["wide"] == []
    assert set(lay["cmdBreaks"]) <= {"normal/normal"} and (lay["cmdBreaks"] or name == "passing")


@pytest.mark.parametrize("width", (420, 1400))
def test_a_reader_sees_the_verdict_and_then_the_first_failure_within_the_first_screen(shots, width):
    o = shots[0]["failing", width]
    lay = o["layout"]
    assert lay["verdictTop"] < 120
    assert lay["firstPanelClaim"] == "conformance.conv.values"         # the real conv2d failure leads
    assert lay["firstPanelTop"] < lay["screen"] / 2 and lay["counterexampleTop"] < lay["screen"] * 0.75
    assert lay["firstPanelTop"] < lay["sectionsTop"]
    values = next(c for c in o["report"]["claims"] if c["id"] == "conformance.conv.values")
    assert values["status"] == "fail" and "kernel flipped" in (values["counterexample"].get("diagnosis") or "")


@pytest.mark.parametrize("width", (420, 1400))
def test_a_passing_report_has_no_failure_panels_and_shows_what_ran(shots, width):
    lay = shots[0]["passing", width]["layout"]
    assert lay["panels"] == 0 and lay["firstPanelTop"] is None
    assert "conformance" not in lay["sections"] and {"convolution", "lenet"} <= set(lay["sections"])


def test_the_filter_and_the_search_box_narrow_the_claims(shots):
    o = shots[0]["failing", 1400]
    f, n = o["filter"], o["report"]["summary"]
    assert sorted(set(f["failures"])) == ["error", "fail"] and len(f["failures"]) == n["fail"] + n["error"]
    assert f["warnings"] == ["warn"] * n["warn"]
    assert f["search"] == ["conv.equivariance.stride"] and f["all"] == len(o["report"]["claims"])


def test_every_figure_has_a_size_and_the_screenshots_are_pngs(shots):
    out, shot_dir = shots
    for (name, width), o in out.items():
        assert o["layout"]["figures"], name
        for fig in o["layout"]["figures"]:
            assert fig["w"] > 0 and fig["h"] > 0, (name, width, fig)
            assert fig["w"] <= width, (name, width, fig)
    for name, width in out:
        for kind in ("first-screen", "page"):
            png = (shot_dir / f"{name}-{width}-{kind}.png").read_bytes()
            assert png[:8] == b"\x89PNG\r\n\x1a\n"
            assert int.from_bytes(png[16:20], "big") == width      # the PNG's width is the viewport's


def inspect(html: Path, screenshot: Path) -> tuple[dict, list[str]]:
    exe = chromium()
    assert exe, "chromium is not installed"
    b = Browser(exe)
    try:
        b.open(html)
        info = b.evaluate(LAYOUT)
        b.screenshot(screenshot)
        time.sleep(0.2)
        return info, b.problems()
    finally:
        b.close()


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
    print(json.dumps({"problems": problems, **{k: v for k, v in info.items() if k != "figures"}}))
    print("tiles:", *tiles(page, str(shot.with_suffix(""))))
