"""`seg3a report` writes one self-contained page that headless Chromium (Debian package
`chromium`, installed by tests/setup/ensure_debian_package.sh) loads without errors and with
every image present. A probe script, added to a copy of the page, reports the images
that failed to decode, any resource fetched from outside the page, and script errors."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


pytestmark = pytest.mark.e2e
SEG3A = Path(sys.executable).with_name("seg3a")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PROBE = """<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push(String(e.message || 'failed: ' + (e.target.alt || e.target.tagName))), true);
window.addEventListener('load', () => {
  const images = Array.from(document.images);
  const out = document.createElement('pre');
  out.id = 'probe';
  out.textContent = JSON.stringify({
    images: images.length,
    broken: images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt),
    external: performance.getEntriesByType('resource').map(r => r.name).filter(n => !n.startsWith('data:')),
    errors: window.__errors,
  });
  document.body.appendChild(out);
});
</script>"""


def load_in_chromium(page: Path, work: Path) -> dict:
    chromium = shutil.which("chromium")
    if chromium is None:
        # `make test` installs it (tests/setup/ensure_debian_package.sh); CI must never pass by skipping.
        message = "Chromium not installed (tests/setup/ensure_debian_package.sh installs the Debian package)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    probed = work / "probed.html"
    probed.write_text(page.read_text(encoding="utf-8").replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
    done = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={work / 'chromium-profile'}",
                           "--virtual-time-budget=10000", "--dump-dom", probed.as_uri()],
                          capture_output=True, text=True, timeout=180)
    found = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.S)
    assert found, f"the page did not finish loading: {done.stderr[-2000:]}"
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


@pytest.fixture(scope="module")
def report_page(two_runs, tmp_path_factory):
    runs_root, databases, seed42, _seed7 = two_runs
    out = tmp_path_factory.mktemp("report")
    env = {**os.environ, "SEG3A_RUNS_ROOT": str(runs_root), "SEG3A_DUCKDB_DIR": str(databases)}
    env.pop("SEG3A_DUCKDB", None)
    done = subprocess.run([str(SEG3A), "report", "--run-id", seed42, "--out", str(out)],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return out / "index.html"


def test_the_page_loads_with_every_image(report_page, tmp_path):
    probe = load_in_chromium(report_page, tmp_path)
    pngs = sorted((report_page.parent / "realism").glob("*.png"))
    assert len(pngs) >= 6
    assert probe == {"images": len(pngs), "broken": [], "external": [], "errors": []}


def test_the_page_holds_the_summary_checks_and_gates(report_page):
    text = report_page.read_text(encoding="utf-8")
    assert "3A SEALED" in text and "End-of-run summary" in text
    assert text.count('<td class="PASS">PASS</td>') >= 12  # the twelve S6 checks
    assert "B+" in text and "Gates of this seed" in text
    assert "src=\"http" not in text and "href=" not in text  # self-contained


def test_the_probe_sees_a_missing_image(report_page, tmp_path):
    broken = tmp_path / "broken.html"
    text = report_page.read_text(encoding="utf-8")
    broken.write_text(re.sub(r'src="data:image/png;base64,[^"]{200}', 'src="data:image/png;base64,AAAA', text, count=1),
                      encoding="utf-8")
    probe = load_in_chromium(broken, tmp_path)
    assert len(probe["broken"]) == 1 and probe["errors"]
