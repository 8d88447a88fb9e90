// Unit tests for the sites' JavaScript that runs without a DOM.
// Run: node --test sites/tests/   (node 18+; no npm packages)
//
// Modules are imported from a copy of each site as marketing-server serves it (its directory
// with sites/shared/ overlaid, as sites/layout.py says), so `./money.<hash>.js` resolves the
// same way it does in a browser.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const sitesDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const layers = JSON.parse(execFileSync("python3", ["-c", "import json, layout; print(json.dumps(layout.SITES))"], { cwd: sitesDir }));
const scratch = mkdtempSync(join(tmpdir(), "ledgerly-sites-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

function served(site) {
  const dir = join(scratch, site);
  for (const layer of layers[site]) cpSync(layer, dir, { recursive: true });
  return dir;
}
const marketingDir = served("marketing");
const frontendDir = served("frontend");

function assetPath(dir, stem, ext) {
  const name = readdirSync(join(dir, "assets")).find((f) => new RegExp(`^${stem}\\.[0-9a-f]{10}\\.${ext}$`).test(f));
  assert.ok(name, `assets/${stem}.<hash>.${ext} exists in ${dir}`);
  return join(dir, "assets", name);
}
const load = (dir, stem) => import(pathToFileURL(assetPath(dir, stem, "js")));

const money = await load(frontendDir, "money");
const config = await load(frontendDir, "config");
const billing = await load(frontendDir, "billing");
const chart = await load(frontendDir, "chart");
const pricing = await load(marketingDir, "pricing");
const cashflow = await load(marketingDir, "cashflow");

test("both sites serve the same money module", () => {
  assert.deepEqual(readFileSync(assetPath(marketingDir, "money", "js")), readFileSync(assetPath(frontendDir, "money", "js")));
});

test("amounts typed as decimals become exact integer cents", () => {
  const cases = {
    "12": 1200, "12.5": 1250, "12.50": 1250, "0.29": 29, "0.01": 1, ".5": 50, "1.": 100,
    "1,234.56": 123456, " 19.99 ": 1999, "$7": 700, "1 000": 100000,
    "999999999999.99": 99999999999999, "4.35": 435, "1.15": 115, "0.07": 7,
  };
  for (const [input, cents] of Object.entries(cases)) {
    assert.equal(money.parseAmountToCents(input), cents, input);
  }
});

test("amounts a user could mistype are refused with a message", () => {
  for (const input of ["", "abc", "-5", "1.234", "0", "0.00", "1,23.00", "12,34", "1.2.3", "1e5", ".", "10000000000000.00"]) {
    assert.throws(() => money.parseAmountToCents(input), money.AmountError, input);
  }
});

test("cents are shown with two decimals and thousands separators", () => {
  assert.equal(money.formatCents(0), "0.00");
  assert.equal(money.formatCents(5), "0.05");
  assert.equal(money.formatCents(-5), "-0.05");
  assert.equal(money.formatCents(123456789), "1,234,567.89");
  assert.equal(money.formatCents(-123456), "-1,234.56");
  assert.equal(money.formatCents(100), "1.00");
  assert.equal(money.formatCents(1.5), "—");
  for (const cents of [1, 99, 100, 101, 123456, 99999999999999]) {
    assert.equal(money.parseAmountToCents(money.formatCents(cents)), cents);
  }
});

test("minor units become exact decimal strings in the currency's precision", () => {
  assert.equal(money.toDecimalString(1583), "15.83");
  assert.equal(money.toDecimalString(-5), "-0.05");
  assert.equal(money.toDecimalString(1400, 0), "1400");
  assert.equal(money.toDecimalString(1234, 3), "1.234");
  assert.equal(money.toDecimalString(99999999999999), "999999999999.99");
  assert.equal(money.minorUnits("USD"), 2);
  assert.equal(money.minorUnits("JPY"), 0);
  assert.equal(money.minorUnits("KWD"), 3);
});

test("money is formatted with the currency's symbol, exactly", () => {
  const en = { locale: "en-US" };
  assert.equal(money.formatMoney(1583, "USD", en), "$15.83");
  assert.equal(money.formatMoney(1900, "USD", { ...en, dropZeroFraction: true }), "$19");
  assert.equal(money.formatMoney(1580, "USD", { ...en, dropZeroFraction: true }), "$15.80");
  assert.equal(money.formatMoney(1400, "JPY", en), "¥1,400");
  assert.equal(money.formatMoney(750, "EUR", en), "€7.50");
  assert.equal(money.formatMoney(2127397, "USD", { ...en, compact: true }), "$21.3K");
  assert.equal(money.formatMoney(1.5, "USD", en), "—");
});

test("division rounds half to even", () => {
  assert.equal(money.divideHalfEven(19000, 12), 1583);
  assert.equal(money.divideHalfEven(25, 10), 2);
  assert.equal(money.divideHalfEven(35, 10), 4);
  assert.equal(money.divideHalfEven(26, 10), 3);
  assert.equal(money.divideHalfEven(-25, 10), -2);
});

test("the API URL comes from runtime config, with a safe fallback", () => {
  assert.equal(config.apiUrl({ API_URL: "https://api.example.com/" }), "https://api.example.com");
  assert.equal(config.apiUrl({ API_URL: "http://localhost:5000" }), "http://localhost:5000");
  assert.equal(config.apiUrl(undefined), "http://localhost:5000");
  assert.equal(config.apiUrl({}), "http://localhost:5000");
  assert.equal(config.apiUrl({ API_URL: "javascript:alert(1)" }), "http://localhost:5000");
  assert.equal(config.apiUrl({ API_URL: "" }), "http://localhost:5000");
});

test("pricing: yearly plans bill ten months for twelve", () => {
  assert.deepEqual(pricing.price("studio", "USD", "monthly"), { perMonth: 1900, total: 1900, saving: 0 });
  assert.deepEqual(pricing.price("studio", "USD", "yearly"), { perMonth: 1583, total: 19000, saving: 3800 });
  assert.deepEqual(pricing.price("solo", "JPY", "yearly"), { perMonth: 1167, total: 14000, saving: 2800 });
  assert.throws(() => pricing.price("studio", "CHF", "monthly"));
  assert.throws(() => pricing.price("enterprise", "USD", "monthly"));
});

test("pricing: the browser's region picks a priced currency", () => {
  assert.equal(pricing.guessCurrency(["en-GB"]), "GBP");
  assert.equal(pricing.guessCurrency(["de-AT", "en"]), "EUR");
  assert.equal(pricing.guessCurrency(["fr", "ja-JP"]), "JPY");
  assert.equal(pricing.guessCurrency(["en-NZ", "de"]), null);
  assert.equal(pricing.guessCurrency(["not a tag", "en-CA"]), "CAD");
  assert.equal(pricing.guessCurrency([]), null);
});

test("pricing.html shows the USD monthly prices that pricing.js charges", () => {
  const html = readFileSync(join(marketingDir, "pricing.html"), "utf8");
  const shown = [...html.matchAll(/data-plan="(\w+)">[\s\S]*?<span class="amount">([^<]+)<\/span>/g)];
  assert.deepEqual(shown.map((m) => m[1]), Object.keys(pricing.PRICES.USD));
  for (const [, plan, amount] of shown) {
    assert.equal(amount, money.formatMoney(pricing.PRICES.USD[plan], "USD", { locale: "en-US", dropZeroFraction: true }), plan);
  }
});

test("landing chart: the figures in index.html are twelve consecutive months of exact amounts", () => {
  const html = readFileSync(join(marketingDir, "index.html"), "utf8");
  const rows = [...html.matchAll(/<tr><th scope="row"><time datetime="(\d{4}-\d{2})">[^<]+<\/time><\/th><td>([^<]+)<\/td><td>([^<]+)<\/td><\/tr>/g)];
  assert.equal(rows.length, 12);
  rows.forEach(([, month, income, expenses], i) => {
    if (i > 0) {
      const [y, m] = rows[i - 1][1].split("-").map(Number);
      assert.equal(month, m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, "0")}`);
    }
    assert.ok(money.parseAmountToCents(income) > 0 && money.parseAmountToCents(expenses) > 0, month);
  });
});

test("landing chart: axis ticks are round and cover the largest bar", () => {
  assert.deepEqual(cashflow.ticks(2497116), [0, 500000, 1000000, 1500000, 2000000, 2500000]);
  assert.deepEqual(cashflow.ticks(100), [0, 20, 40, 60, 80, 100]);
  assert.deepEqual(cashflow.ticks(999), [0, 200, 400, 600, 800, 1000]);
  assert.deepEqual(cashflow.ticks(3), [0, 1, 2, 3]);
  assert.deepEqual(cashflow.ticks(0), [0]);
});

// ---- app: billing wording and the checkout return page's polling ----------------------------

const NOW = Date.parse("2026-12-01T12:00:00Z");
const sub = (over) => ({ status: "none", subscribed: false, trial_ends_at: "2026-12-11T12:00:00Z", trial_active: true, can_write: true, has_billing_account: false, ...over });

test("billing: a trial user may write, is offered Subscribe, and sees the days left", () => {
  const b = billing.describeBilling(sub(), NOW);
  assert.equal(b.canWrite, true);
  assert.equal(b.canSubscribe, true);
  assert.equal(b.canManage, false);
  assert.equal(b.trialEndsOn, "2026-12-11");
  assert.match(b.summary, /ends on 2026-12-11 \(10 days left\)/);
});

test("billing: after the trial the server's can_write=false means the paywall", () => {
  const b = billing.describeBilling(sub({ trial_ends_at: "2026-11-01T00:00:00Z", trial_active: false, can_write: false }), NOW);
  assert.equal(b.canWrite, false);
  assert.match(b.summary, /trial has ended/);
  assert.match(b.summary, /still read/);
});

test("billing: subscribed shows Manage billing and no Subscribe; billing off is full access", () => {
  const b = billing.describeBilling(sub({ status: "active", subscribed: true, has_billing_account: true }), NOW);
  assert.deepEqual([b.canSubscribe, b.canManage, b.canWrite, b.status], [false, true, true, "active"]);
  const off = billing.describeBilling(null, NOW);
  assert.deepEqual([off.enabled, off.canWrite, off.canSubscribe], [false, true, false]);
  const pastDue = billing.describeBilling(sub({ status: "past_due", trial_active: false, can_write: false, has_billing_account: true }), NOW);
  assert.match(pastDue.summary, /payment failed/);
  assert.equal(pastDue.canManage, true);
});

test("billing: the return page polls until the webhook has landed", async () => {
  const answers = [sub(), new Error("network"), sub({ status: "incomplete" }), sub({ status: "active", subscribed: true })];
  let calls = 0;
  let clock = 0;
  const result = await billing.waitForSubscription(async () => {
    const a = answers[calls++];
    if (a instanceof Error) throw a;
    return a;
  }, { intervalMs: 1000, timeoutMs: 10000, now: () => clock, sleep: async (ms) => { clock += ms; } });
  assert.equal(result.active, true);
  assert.equal(calls, 4);
  assert.equal(clock, 3000);
});

test("billing: polling gives up at the deadline with the last state", async () => {
  let clock = 0;
  const result = await billing.waitForSubscription(async () => sub(), { intervalMs: 1000, timeoutMs: 5000, now: () => clock, sleep: async (ms) => { clock += ms; } });
  assert.equal(result.active, false);
  assert.equal(result.subscription.status, "none");
  assert.equal(clock, 5000);
});

test("balance chart: bars scale to the largest balance, negatives flagged, zero is empty", () => {
  const bars = chart.barLayout([
    { name: "Bank", type: "asset", balance_cents: 10000 },
    { name: "Card", type: "liability", balance_cents: -5000 },
    { name: "Idle", type: "asset", balance_cents: 0 },
  ], { width: 500, labelWidth: 100 });
  assert.deepEqual(bars.map((b) => b.width), [300, 150, 0]);
  assert.deepEqual(bars.map((b) => b.negative), [false, true, false]);
  assert.deepEqual(bars.map((b) => b.y), [0, 32, 64]);
  assert.deepEqual(chart.barLayout([{ name: "A", type: "asset", balance_cents: 0 }]).map((b) => b.width), [0]);
});
