"""The progress chart (#16 item 7g): a dashed line for the amount owed, and the axis
labels thinned so the last two never overlap. On SQLite."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from api.i18n import translator
from api.templating import templates

CHART = ('{% from "_macros.html" import line_chart with context %}'
         '{{ line_chart(labels, series, "Voortgang", fmt="num") }}')


def _label_xs(html: str) -> list[float]:
    return [float(x) for x in re.findall(
        r'<text x="([\d.]+)" y="218" text-anchor="middle" class="chart-axis">', html)]


@pytest.mark.parametrize("n", [2, 8, 9, 10, 13, 17, 25, 37, 60])
def test_axis_labels_keep_their_distance(n: int) -> None:
    labels = [f"m{i}" for i in range(n)]
    html = templates.env.from_string(CHART).render(
        labels=labels, series=[{"name": "a", "values": list(range(1, n + 1))}],
        t=translator("nl"), lang="nl")
    xs = _label_xs(html)
    dx = 540 / (n - 1)
    step = (n + 7) // 8 if n > 8 else 1
    assert xs[0] == 70.0 and xs[-1] == 610.0  # the first and the last month always
    gaps = [b - a for a, b in zip(xs, xs[1:], strict=False)]
    assert min(gaps) >= dx * step - 0.2, (n, gaps)  # never closer than one step
    assert len(xs) <= 9


def test_obligation_chart_has_the_amount_owed(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("firm")
    html = client.get("/obligations/O-1").text
    chart = html[html.index('id="progress-chart"'):]
    chart = chart[:chart.index("</figure>")]
    line = re.search(r'<polyline points="([^"]+)" fill="none" stroke="#c44e52" '
                     r'stroke-width="2.5" stroke-linejoin="round" stroke-dasharray="7 5"',
                     chart)
    assert line, "no dashed line for the amount owed"
    ys = {p.split(",")[1] for p in line.group(1).split()}
    assert len(ys) == 1  # level: the same amount every month
    # The amount owed is the highest value here (120,000 due, less planned and delivered):
    # its line is the chart's top grid line.
    assert float(ys.pop()) == 14.0
    assert "Verschuldigd" in chart and "swatch-dashed" in chart
    table = chart[chart.index("<table"):]
    assert table.count("€ 120.000") >= 2  # the table carries the level too
