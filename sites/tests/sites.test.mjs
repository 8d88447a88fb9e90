// Unit tests for the sites' JavaScript that runs without a DOM.
// Run: node --test sites/tests/   (node 18+; no npm packages)
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const asset = (site, stem, ext) => {
  const dir = join(here, "..", site, "assets");
  const name = readdirSync(dir).find((f) => new RegExp(`^${stem}\\.[0-9a-f]{10}\\.${ext}$`).test(f));
  assert.ok(name, `${site}/assets/${stem}.<hash>.${ext} exists`);
  return join(dir, name);
};

const money = await import(pathToFileURL(asset("frontend", "money", "js")));
const config = await import(pathToFileURL(asset("frontend", "config", "js")));
const kit = createRequire(import.meta.url)(asset("marketing", "vendor", "js"));

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
  assert.equal(money.formatCents(100), "1.00");
  assert.equal(money.formatCents(1.5), "—");
  for (const cents of [1, 99, 100, 101, 123456, 99999999999999]) {
    assert.equal(money.parseAmountToCents(money.formatCents(cents)), cents);
  }
});

test("the API URL comes from runtime config, with a safe fallback", () => {
  assert.equal(config.apiUrl({ API_URL: "https://api.example.com/" }), "https://api.example.com");
  assert.equal(config.apiUrl({ API_URL: "http://localhost:5000" }), "http://localhost:5000");
  assert.equal(config.apiUrl(undefined), "http://localhost:5000");
  assert.equal(config.apiUrl({}), "http://localhost:5000");
  assert.equal(config.apiUrl({ API_URL: "javascript:alert(1)" }), "http://localhost:5000");
  assert.equal(config.apiUrl({ API_URL: "" }), "http://localhost:5000");
});

test("vendor kit: money helpers are exact", () => {
  assert.equal(kit.money.parseAmount("1,234.56"), 123456);
  assert.equal(kit.money.parseAmount("12", 0), 12);
  assert.throws(() => kit.money.parseAmount("1.234"));
  assert.equal(kit.money.toDecimalString(-5), "-0.05");
  assert.deepEqual(kit.money.allocate(100, [1, 1, 1]), [34, 33, 33]);
  assert.equal(kit.money.applyBasisPoints(1999, 2000), 400);
  assert.equal(kit.money.roundHalfEven(25, 10), 2);
  assert.equal(kit.money.roundHalfEven(35, 10), 4);
  assert.equal(kit.money.convert(10000, "USD", "JPY", "151.5"), 15150);
});

test("vendor kit: the demo studio's books balance", () => {
  const ledger = kit.demo.ledger();
  assert.equal(ledger.trialBalance().balanced, true);
  const months = ledger.monthly();
  assert.equal(months.length, 24);
  assert.ok(months.every((m) => m.income > 0 && m.expenses > 0));
  assert.equal(ledger.balance(5), 0, "the equipment loan is paid off");
});

test("vendor kit: prices, dates and reference data", () => {
  assert.deepEqual(kit.pricing.price("studio", "USD", "yearly"),
    { plan: "studio", currency: "USD", period: "yearly", totalMinor: 19000, perMonthMinor: 1583, savingMinor: 3800 });
  assert.equal(kit.reference.currency("JPY").minorUnits, 0);
  assert.equal(kit.reference.country("DE").currency, "EUR");
  assert.equal(kit.reference.guessCurrency(["en-GB"], kit.pricing.currencies), "GBP");
  assert.equal(kit.dates.addMonths("2024-01-31", 1), "2024-02-29");
  assert.throws(() => kit.dates.parse("2025-02-29"));
  assert.deepEqual(kit.scales.ticks(0, 100, 5), [0, 20, 40, 60, 80, 100]);
});
