"""The one benchmark report of ``make bench``: rows collected from every benchmark, printed as one
table at the end of the session, written as JSON and drawn as a latency histogram page.

Each benchmark adds :class:`Row` objects to the session's :class:`Report` (the ``bench_report``
fixture of tests/benchmarks/conftest.py); the acquirer runs also add a latency distribution (wrk's
percentiles, :class:`Histogram`). The page is self-contained HTML with inline SVG: no script, no
font or style sheet from elsewhere.
"""

from __future__ import annotations

import html
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

Figure = int | float | str


@dataclass(frozen=True)
class Row:
    """One measured line: its group (``kernel``, ``acquirer``...), what it is, its figures."""

    group: str
    name: str
    figures: dict[str, Figure]
    note: str = ""


@dataclass(frozen=True)
class Histogram:
    """A latency distribution as wrk reports it: ``(percentile, microseconds)`` pairs, ascending."""

    name: str
    percentiles: list[tuple[float, int]]


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    histograms: list[Histogram] = field(default_factory=list)

    def add(self, group: str, name: str, note: str = "", **figures: Figure) -> None:
        self.rows.append(Row(group, name, dict(figures), note))

    def to_json(self) -> str:
        return json.dumps(
            {
                "rows": [asdict(r) for r in self.rows],
                "histograms": [asdict(h) for h in self.histograms],
            },
            indent=2,
        )

    def write(self, folder: Path) -> list[Path]:
        """Write ``report.json`` and ``latency.html`` into ``folder``; the paths written."""
        folder.mkdir(parents=True, exist_ok=True)
        written = [folder / "report.json"]
        written[0].write_text(self.to_json() + "\n", encoding="utf-8")
        page = folder / "latency.html"
        page.write_text(histogram_page(self.histograms), encoding="utf-8")
        written.append(page)
        return written


def format_figure(name: str, value: Figure) -> str:
    """A figure as the table shows it.

    >>> format_figure("p99_ms", 12.3456)
    'p99 12.35 ms'
    >>> format_figure("per_s", 2512.7)
    '2,513/s'
    >>> format_figure("lost", 0)
    'lost 0'
    """
    if name.endswith("_ms") and isinstance(value, float | int):
        return f"{name[:-3]} {value:.2f} ms"
    if name == "per_s" and isinstance(value, float | int):
        return f"{value:,.0f}/s"
    if name.endswith("_per_s") and isinstance(value, float | int):
        return f"{name[:-6]} {value:,.0f}/s"
    if name.endswith("_mib") and isinstance(value, float | int):
        return f"{name[:-4]} {value:.1f} MiB"
    if isinstance(value, float):
        return f"{name} {value:.3f}"
    return f"{name} {value}"


def table(rows: list[Row]) -> str:
    """The rows as one fixed-width text table, in the order they were added.

    >>> print(table([Row("kernel", "tap visa", {"median_ms": 1.5, "p99_ms": 2.0})]))
    group   measurement  figures
    ------  -----------  ----------------------------
    kernel  tap visa     median 1.50 ms, p99 2.00 ms
    """
    header = ("group", "measurement", "figures")
    lines = [
        (
            r.group,
            r.name,
            ", ".join(format_figure(k, v) for k, v in r.figures.items())
            + (f"  ({r.note})" if r.note else ""),
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(3)]
    widths[2] = max(widths[2], 28)

    def fmt(cells: tuple[str, str, str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [fmt(header), fmt(("-" * widths[0], "-" * widths[1], "-" * widths[2]))]
    return "\n".join([*out, *(fmt(line) for line in lines)])


def bins(percentiles: list[tuple[float, int]], count: int = 30) -> list[tuple[int, int, float]]:
    """Share of requests (percent) per latency bin, ``(low_us, high_us, percent)``.

    Between two consecutive reported percentiles ``p1 < p2`` lie ``p2 - p1`` percent of the
    requests, all with latencies between the two values: that share goes to the bin of the
    upper value (wrk reports percentiles at fine steps, so the error is one step).

    >>> bins([(50.0, 100), (100.0, 200)], count=2)
    [(100, 150, 50.0), (150, 200, 50.0)]
    >>> [share for _, _, share in bins([(25.0, 10), (50.0, 10), (75.0, 30), (100.0, 40)], 3)]
    [50.0, 0.0, 50.0]
    """
    if not percentiles:
        return []
    values = [value for _, value in percentiles]
    low, high = min(values), max(values)
    width = max(1, -(-(high - low) // count))
    shares = [0.0] * count
    previous = 0.0
    for p, value in percentiles:
        index = max(0, min(count - 1, (value - low) // width))
        shares[index] += p - previous
        previous = p
    return [(low + i * width, low + (i + 1) * width, round(s, 3)) for i, s in enumerate(shares)]


def _svg(histogram: Histogram, width: int = 640, height: int = 220) -> str:
    drawn = bins(histogram.percentiles)
    if not drawn:
        return "<p>no samples</p>"
    top = max(share for _, _, share in drawn) or 1.0
    left, bottom, plot_h = 50, 30, height - 50
    bar_w = (width - left - 10) / len(drawn)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{html.escape(histogram.name)}">',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" '
        'stroke="#333"/>',
        f'<line x1="{left}" y1="20" x2="{left}" y2="{height - bottom}" stroke="#333"/>',
        f'<text x="4" y="24" font-size="10">{top:.1f}%</text>',
    ]
    for i, (low, high, share) in enumerate(drawn):
        h = plot_h * share / top
        x = left + i * bar_w
        parts.append(
            f'<rect x="{x:.1f}" y="{height - bottom - h:.1f}" width="{bar_w - 1:.1f}" '
            f'height="{h:.1f}" fill="#3a7bd5"><title>{low / 1000:.2f}-{high / 1000:.2f} ms: '
            f"{share:.2f}%</title></rect>"
        )
    for i in (0, len(drawn) // 2, len(drawn)):
        value = drawn[min(i, len(drawn) - 1)][0 if i < len(drawn) else 1] / 1000
        x = left + i * bar_w
        parts.append(
            f'<text x="{x:.1f}" y="{height - bottom + 14}" font-size="10" '
            f'text-anchor="middle">{value:.1f} ms</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def histogram_page(histograms: list[Histogram]) -> str:
    """A self-contained HTML page: one latency histogram (inline SVG) per acquirer run."""
    sections = [f"<section><h2>{html.escape(h.name)}</h2>{_svg(h)}</section>" for h in histograms]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>Tap benchmark latencies</title></head>"
        '<body style="font-family: sans-serif"><h1>Acquirer authorization latency</h1>'
        "<p>Share of requests per latency bin (wrk percentiles, load generator on the same "
        "machine).</p>" + "".join(sections) + "</body></html>\n"
    )


def output_folder(root: Path) -> Path:
    """Where the report goes: ``$BENCH_OUT`` or ``build/bench`` under the project root."""
    return Path(os.environ.get("BENCH_OUT", root / "build" / "bench"))
