"""`seg3a report --out DIR`: one self-contained page for a run, DIR/index.html.

The page holds the end-of-run summary (`seg3a summary`), the S6 checks of the published
validation report, the realism gates of the run (`seg3a realism score`, written to
DIR/realism/) and every PNG the realism scorer writes there, inlined as data URIs so the
page opens anywhere without its folder. Only the run's own outputs are read; nothing is
fetched from the network. The page is written to a temporary file and renamed into place.
"""
from __future__ import annotations

import argparse
import base64
import html
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterable, Sequence

from .cli import add_run_arguments, resolve_run
from .core.context import RunContext
from .states.summary import summary_text

PAGE = "index.html"
REALISM_DIR = "realism"
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; color: #1d1d1f; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ccc; }
pre { background: #f5f5f7; padding: 1rem; overflow-x: auto; font-size: .85rem; }
table { border-collapse: collapse; font-size: .9rem; } td, th { border: 1px solid #ccc; padding: .25rem .6rem; }
th { background: #f0f0f3; text-align: left; } .PASS, .pass { color: #116611; } .FAIL, .fail { color: #b00020; }
figure { display: inline-block; margin: .5rem; } figure img { max-width: 32rem; border: 1px solid #ddd; }
"""


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="{html.escape(str(c))}">{html.escape(str(c))}</td>' for c in row) + "</tr>"
        for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def s6_section(ctx: RunContext) -> str:
    path = ctx.path("s6_validation_report_3A")
    if not path.is_file():
        return f"<p>No S6 validation report for this run ({html.escape(str(path))}).</p>"
    report = json.loads(path.read_bytes())
    rows = [[c["check_id"], c["status"], c["severity"], c["affected_count"], c.get("notes") or ""]
            for c in report["checks"]]
    verdict = html.escape(str(report["overall_status"]))
    return (f'<p>Overall: <b class="{verdict}">{verdict}</b> — {report["checks_passed_count"]} passed, '
            f'{report["checks_warn_count"]} warned, {report["checks_failed_count"]} failed.</p>'
            + _table(["check", "status", "severity", "affected", "notes"], rows))


def realism_section(ctx: RunContext, out: Path) -> str:
    from .realism import gates, report, score

    result = score.score_run(ctx)
    score.write_score(result, out)
    verdicts = result.document["gates"]
    summary = ", ".join(f"{level} {'pass' if verdicts[level] else 'FAIL'}" for level in (gates.B, gates.BPLUS))
    figures = "".join(_figure(png) for png in sorted(out.glob("*.png")))
    return (f"<p>Gates of this seed: {html.escape(summary)} (the certification verdict needs the whole "
            f"seedpack: <code>make certify</code>). Full scores: {REALISM_DIR}/score.md.</p>"
            + _table(["gate", "op", "value", "B", "B+", "note"], report.gate_rows(verdicts["gates"]))
            + f"<h3>Plots</h3><div>{figures}</div>")


def _figure(png: Path) -> str:
    data = base64.b64encode(png.read_bytes()).decode("ascii")
    name = html.escape(png.stem.replace("_", " "))
    return f'<figure><img alt="{name}" src="data:image/png;base64,{data}"><figcaption>{name}</figcaption></figure>'


def render(ctx: RunContext, out: Path) -> str:
    text, sealed = summary_text(ctx.run_root)
    status = "SEALED" if sealed else "NOT SEALED"
    title = f"seg3a run {ctx.tokens.run_id} (seed {ctx.tokens.seed})"
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
        f'<h1>{html.escape(title)}: <span class="{"PASS" if sealed else "FAIL"}">3A {status}</span></h1>',
        "<h2>End-of-run summary</h2>", f"<pre>{html.escape(text)}</pre>",
        "<h2>S6 structural checks</h2>", s6_section(ctx),
        "<h2>Realism</h2>", realism_section(ctx, out / REALISM_DIR),
        "</body></html>", ""])


def write_page(ctx: RunContext, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    page = render(ctx, out)
    fd, staged = tempfile.mkstemp(dir=out, prefix=f".{PAGE}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(page)
        os.chmod(staged, 0o644)  # mkstemp's 0600 would hide the page from other readers
        os.replace(staged, out / PAGE)
    except BaseException:
        Path(staged).unlink(missing_ok=True)
        raise
    return out / PAGE


def main(argv: list[str] | None = None) -> int:
    cli = argparse.ArgumentParser(
        prog="seg3a report",
        description="Write one self-contained HTML page for a run (summary, S6 checks, realism gates and plots, "
                    "images inlined) to OUT/index.html.")
    add_run_arguments(cli, "report")
    cli.add_argument("--out", type=Path, required=True, help="output folder (index.html and realism/)")
    args = cli.parse_args(argv)
    ctx = resolve_run("seg3a report", "report", args.runs_root, args.run_id)
    if ctx is None:
        return 2
    print(f"seg3a report: scoring run {ctx.tokens.run_id} and writing {args.out / PAGE} ...", flush=True)
    page = write_page(ctx, args.out)
    print(f"seg3a report: wrote {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
