// The landing page's cash-flow chart (index.html, #cashflow-chart).
//
// The figures are the page's own content: a table of monthly income and expenses inside the
// chart area, which is what a visitor without JavaScript sees. This module reads that table,
// draws grouped SVG bars from it with DOM calls only (no HTML parsing, no inline styles: the
// CSP forbids both), and keeps the table for screen readers.

import { formatMoney, parseAmountToCents } from "./money.3c32589c3a.js";

const SVG = "http://www.w3.org/2000/svg";
const COLORS = ["#0f766e", "#f59e0b"];
const NARROW = 420; // px of container width below which the chart gets its compact layout

// [{ month: "2026-10", label: "Oct 2026", values: [income, expenses] }] from the data table.
export function readTable(table) {
  const series = [...table.tHead.rows[0].cells].slice(1).map((th) => th.textContent.trim());
  const rows = [...table.tBodies[0].rows].map((tr) => {
    const time = tr.cells[0].querySelector("time");
    return {
      month: time.getAttribute("datetime"),
      label: time.textContent.trim(),
      values: [...tr.cells].slice(1).map((td) => parseAmountToCents(td.textContent)),
    };
  });
  return { series, rows };
}

// Axis ticks from 0 to at least `max` (minor units), on a 1/2/5 x 10^n step, about `count` of them.
export function ticks(max, count = 5) {
  if (!(max > 0)) {
    return [0];
  }
  const rough = max / count;
  let step = 10 ** Math.floor(Math.log10(rough));
  const error = rough / step;
  if (error >= Math.sqrt(50)) step *= 10;
  else if (error >= Math.sqrt(10)) step *= 5;
  else if (error >= Math.sqrt(2)) step *= 2;
  step = Math.max(1, step); // minor units are whole numbers
  return Array.from({ length: Math.ceil(max / step) + 1 }, (_, i) => i * step);
}

function svg(tag, attrs = {}, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) {
    el.setAttribute(name, String(value));
  }
  if (text !== undefined) el.textContent = text;
  return el;
}

// Grouped bars, one group per month, one bar per series; each group's <title> is its tooltip.
export function barChart({ rows, series }, { width, height, left, currency = "USD" }) {
  const margin = { top: 16, right: 16, bottom: 36, left };
  const innerWidth = width - margin.left - margin.right;
  const innerHeight = height - margin.top - margin.bottom;
  const yTicks = ticks(Math.max(0, ...rows.flatMap((r) => r.values)));
  const top = yTicks[yTicks.length - 1] || 1;
  const y = (v) => innerHeight - (v / top) * innerHeight;
  const padding = 0.25;
  const step = innerWidth / (rows.length + padding);
  const band = step * (1 - padding);
  const barStep = band / (series.length + 0.1);
  const money = (v) => formatMoney(v, currency, { locale: "en-US" });

  const root = svg("svg", {
    class: "chart-svg", viewBox: `0 0 ${width} ${height}`, width, height, role: "img",
    "aria-labelledby": "cashflow-title", preserveAspectRatio: "xMidYMid meet",
  });
  root.append(svg("title", { id: "cashflow-title" }, `Monthly ${series.join(" and ").toLowerCase()}, last ${rows.length} months`));
  const plot = svg("g", { transform: `translate(${margin.left},${margin.top})` });
  const axisY = svg("g", { class: "chart-axis", "font-size": 12, fill: "#4a5670" });
  for (const t of yTicks) {
    axisY.append(svg("line", { x1: 0, x2: innerWidth, y1: y(t), y2: y(t), stroke: "#e2e8f0" }));
    axisY.append(svg("text", { x: -8, y: y(t) + 4, "text-anchor": "end" },
      formatMoney(t, currency, { locale: "en-US", compact: true })));
  }
  plot.append(axisY);
  const bars = series.map((_, si) => svg("g", { class: `chart-series chart-series-${si}`, fill: COLORS[si % COLORS.length] }));
  rows.forEach((row, ri) => {
    const x = step * padding + step * ri;
    row.values.forEach((v, si) => {
      const rect = svg("rect", {
        x: x + barStep * 0.1 + barStep * si, y: Math.min(y(0), y(v)),
        width: Math.max(1, barStep * 0.9), height: Math.max(0.5, Math.abs(y(0) - y(v))), rx: 2,
      });
      rect.append(svg("title", {}, `${row.label}: ${series.map((name, i) => `${name} ${money(row.values[i])}`).join(", ")}`));
      bars[si].append(rect);
    });
    if (ri % Math.ceil(rows.length / 8) === 0) {
      plot.append(svg("text", { x: x + band / 2, y: innerHeight + 20, "text-anchor": "middle", "font-size": 12, fill: "#4a5670" },
        row.label.split(" ")[0]));
    }
  });
  plot.append(...bars);
  root.append(plot);
  return root;
}

export function setup(area) {
  const table = area.querySelector("table");
  const data = readTable(table);
  // Screen readers keep the table; sighted visitors get the bars instead.
  table.parentElement.classList.add("visually-hidden");
  let narrow = null;
  function render() {
    const now = area.clientWidth < NARROW;
    if (now === narrow) return;
    narrow = now;
    area.querySelector(".chart-svg")?.remove();
    area.prepend(barChart(data, narrow ? { width: 360, height: 260, left: 48 } : { width: 560, height: 300, left: 56 }));
  }
  render();
  if (typeof ResizeObserver !== "undefined") {
    new ResizeObserver(render).observe(area);
  }
}
