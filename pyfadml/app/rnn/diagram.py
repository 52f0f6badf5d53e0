"""The lecture's LSTM gate diagram as inline SVG (no scripts, no external images), labelled with values."""
from __future__ import annotations

from html import escape

from pyfadml.app import ui


def signed(v: float) -> str:
    """A value in the diagram: ``+0.12``, ``−0.5`` (:func:`pyfadml.app.ui.num`, 2 digits, with its sign)."""
    return ("+" if v > 0 else "") + ui.num(v, 2)


def lstm_diagram_svg(v: dict | None, *, t: int = 0, unit: int = 0) -> str:
    """The LSTM cell (cell-state line on top, four interacting layers below) labelled with the values
    ``v = {"x", "h_prev", "c_prev", "i", "f", "o", "g", "c", "h"}`` of one unit at one time step."""
    def val(k):
        return "" if v is None else f" = {signed(v[k])}"

    def gate(x, label, name, color):
        return (f'<rect x="{x - 26}" y="176" width="52" height="34" rx="6" fill="{color}" stroke="#0f172a" '
                f'stroke-width="1.2"/><text x="{x}" y="198" class="op">{label}</text>'
                f'<text x="{x}" y="232" class="lab" data-gate="{name}"'
                f'{"" if v is None else " " + ui.attrs(value=ui.exact(v[name]))}>{name}<tspan class="num">'
                f'{escape(val(name))}</tspan></text>')

    def op(x, y, sym):
        return (f'<circle cx="{x}" cy="{y}" r="13" fill="#fff7ed" stroke="#0f172a" stroke-width="1.2"/>'
                f'<text x="{x}" y="{y + 5}" class="op">{sym}</text>')

    line = 'stroke="#334155" stroke-width="1.6" fill="none" marker-end="url(#arrow)"'
    sig, tanh_c = "#dbeafe", "#fde68a"
    return f"""
<svg viewBox="0 0 640 330" width="620" style="max-width: 100%; height: auto" role="img" aria-label="LSTM cell diagram" data-testid="lstm-diagram"
     data-t="{t}" data-unit="{unit}" xmlns="http://www.w3.org/2000/svg">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7"
  orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#334155"/></marker></defs>
<style>
 text {{ font-family: system-ui, sans-serif; font-size: 13px; fill: #0f172a; text-anchor: middle; }}
 .op {{ font-size: 15px; font-weight: 600; }}
 .lab {{ font-size: 12px; fill: #334155; }}
 .num {{ font-weight: 700; fill: #0f172a; font-variant-numeric: tabular-nums; }}
 .big {{ font-size: 13px; font-weight: 600; }}
</style>
<rect x="60" y="20" width="460" height="260" rx="14" fill="#f8fafc" stroke="#cbd5e1" stroke-width="1.5"/>
<path d="M 10 60 L 158 60" {line}/>
<path d="M 184 60 L 318 60" {line}/>
<path d="M 344 60 L 628 60" {line}/>
<text x="12" y="50" class="big" style="text-anchor:start">c<tspan baseline-shift="sub" font-size="10">t−1</tspan>{escape(val("c_prev"))}</text>
<text x="636" y="50" class="big" style="text-anchor:end">c<tspan baseline-shift="sub" font-size="10">t</tspan>{escape(val("c"))}</text>
{op(171, 60, "×")}
{op(331, 60, "+")}
{op(281, 120, "×")}
{op(451, 200, "×")}
<rect x="425" y="98" width="52" height="26" rx="13" fill="{tanh_c}" stroke="#0f172a" stroke-width="1.2"/>
<text x="451" y="116" class="op" style="font-size:12px">tanh</text>
<path d="M 451 60 L 451 96" {line}/>
<path d="M 451 124 L 451 185" {line}/>
<path d="M 10 300 L 100 300 L 100 260 L 391 260" stroke="#334155" stroke-width="1.6" fill="none"/>
<path d="M 100 320 L 100 300" stroke="#334155" stroke-width="1.6" fill="none"/>
<path d="M 151 260 L 151 212" {line}/>
<path d="M 231 260 L 231 212" {line}/>
<path d="M 311 260 L 311 212" {line}/>
<path d="M 391 260 L 391 212" {line}/>
<path d="M 151 176 L 171 74" {line}/>
<path d="M 231 176 L 270 129" {line}/>
<path d="M 311 176 L 292 131" {line}/>
<path d="M 281 106 L 326 73" {line}/>
<path d="M 417 193 L 437 198" {line}/>
<path d="M 464 200 L 560 200 L 560 300 L 628 300" {line}/>
<path d="M 560 200 L 560 14 L 600 14" {line}/>
{gate(151, "σ", "f", sig)}
{gate(231, "σ", "i", sig)}
{gate(311, "tanh", "g", tanh_c)}
{gate(391, "σ", "o", sig)}
<text x="12" y="292" class="big" style="text-anchor:start">h<tspan baseline-shift="sub" font-size="10">t−1</tspan>{escape(val("h_prev"))}</text>
<text x="116" y="326" class="big">x<tspan baseline-shift="sub" font-size="10">t</tspan></text>
<text x="636" y="292" class="big" style="text-anchor:end">h<tspan baseline-shift="sub" font-size="10">t</tspan>{escape(val("h"))}</text>
<text x="615" y="20" class="lab">h<tspan baseline-shift="sub" font-size="9">t</tspan></text>
<text x="290" y="16" class="lab">cell state: the memory, changed only by × f and + i·g</text>
</svg>"""
