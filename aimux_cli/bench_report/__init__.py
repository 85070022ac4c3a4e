"""Bench reports read back and shown: `aimux bench report` (one self-contained HTML file) and `aimux bench compare`.

- runs.py: a JSON report that `bench provider` wrote -> its runs (RunData), labelled, with the series drawn.
- svg.py: small inline-SVG charts (histogram, line chart) that need no JavaScript and no network.
- html.py: runs -> one HTML page (inline CSS and SVG), every string from a report escaped.
- compare.py: two runs -> rows metric by metric, with a bootstrap interval on the change (pure), and its Rich table.

Nothing here touches the network; the command module (aimux_cli/commands/bench_report.py) reads and writes files.
"""
