// The accounts page's balance chart: one horizontal SVG bar per account, drawn with DOM calls
// only (no HTML parsing, no inline styles: the CSP forbids both). The table beside it stays
// the accessible source of the numbers.

import { formatCents } from "./money.3c32589c3a.js";

const SVG = "http://www.w3.org/2000/svg";

// Bar geometry (pure): widths proportional to |balance| against the largest one, in a
// `width`-wide area after a `labelWidth` column.
export function barLayout(accounts, { width = 640, labelWidth = 200, barHeight = 22, gap = 10 } = {}) {
  const max = Math.max(0, ...accounts.map((a) => Math.abs(Number(a.balance_cents) || 0)));
  const room = Math.max(0, width - labelWidth - 100);
  return accounts.map((a, i) => {
    const cents = Number(a.balance_cents) || 0;
    return {
      name: a.name,
      type: a.type,
      cents,
      x: labelWidth,
      y: i * (barHeight + gap),
      width: max === 0 ? 0 : Math.max(cents === 0 ? 0 : 2, Math.round((Math.abs(cents) / max) * room)),
      height: barHeight,
      negative: cents < 0,
    };
  });
}

function svg(tag, attrs = {}, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  if (text !== undefined) el.textContent = text;
  return el;
}

export function balanceChart(accounts, options = {}) {
  const width = options.width || 640;
  const bars = barLayout(accounts, { ...options, width });
  const height = bars.length ? bars[bars.length - 1].y + bars[bars.length - 1].height : 0;
  const root = svg("svg", {
    viewBox: `0 0 ${width} ${Math.max(height, 1)}`, role: "img", class: "balance-chart",
    "aria-label": "Account balances",
  });
  for (const bar of bars) {
    const group = svg("g", { class: `bar bar-${bar.type}${bar.negative ? " negative" : ""}`, "data-account": bar.name, "data-cents": bar.cents });
    group.append(
      svg("title", {}, `${bar.name}: ${formatCents(bar.cents)}`),
      svg("text", { x: bar.x - 8, y: bar.y + bar.height * 0.7, "text-anchor": "end", class: "bar-label" }, bar.name),
      svg("rect", { x: bar.x, y: bar.y, width: bar.width, height: bar.height, rx: 3 }),
      svg("text", { x: bar.x + bar.width + 6, y: bar.y + bar.height * 0.7, class: "bar-value" }, formatCents(bar.cents)),
    );
    root.append(group);
  }
  return root;
}
