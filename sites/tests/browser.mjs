// Browser check of both sites as users get them: served by the real
// marketing-server (with its strict CSP) and run in headless Chromium, driven
// over the DevTools protocol on a pipe (no WebSocket, so any node 18+ will do).
// Fails on any script error, CSP violation or missing behaviour, and fails, not
// skips, when Chromium or the server binary is missing (`make test-browser`
// builds the server; .ci/run installs Debian's chromium).
//
//   node sites/tests/browser.mjs
//
// Env: MARKETING_SERVER (default target/debug/marketing-server), CHROMIUM
// (default: chromium on PATH), BACKEND_URL (optional: a running backend; with
// it the frontend is exercised end to end: sign up, accounts, transactions,
// billing; FRONTEND_PORT then pins the SPA's port so that the backend's
// CORS_ALLOWED_ORIGINS can list http://127.0.0.1:FRONTEND_PORT. Without it the
// frontend is pointed at a closed port and must show the connection error).

import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "..", "..");
const serverBin = process.env.MARKETING_SERVER || join(repo, "target", "debug", "marketing-server");
const chromium = process.env.CHROMIUM || ["chromium", "chromium-browser", "google-chrome"].find(
  (name) => spawnSync("sh", ["-c", `command -v ${name}`]).status === 0,
);
if (!existsSync(serverBin)) {
  console.error(`browser check: no marketing-server at ${serverBin} (cargo build -p marketing-server, or set MARKETING_SERVER)`);
  process.exit(1);
}
if (!chromium) {
  console.error("browser check: no Chromium on PATH (apt-get install chromium, or set CHROMIUM)");
  process.exit(1);
}
// The directories each site is served from, overlaid (sites/layout.py): SITE_DIR takes them all.
const layers = JSON.parse(execFileSync("python3", ["-c", "import json, layout; print(json.dumps(layout.SITES))"], { cwd: join(repo, "sites") }));

const children = [];
const cleanups = [];
function cleanup() {
  for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
  for (const fn of cleanups.splice(0)) {
    try {
      fn();
    } catch {
      // best effort: a temp profile left behind is harmless
    }
  }
}
let shuttingDown = false;
async function shutdown() {
  shuttingDown = true;
  const exits = children.filter((c) => c.exitCode === null && c.signalCode === null)
    .map((c) => new Promise((ok) => c.once("exit", ok)));
  for (const child of children) child.kill("SIGTERM");
  await Promise.race([Promise.all(exits), sleep(5000)]);
  cleanup();
}
process.on("exit", cleanup);

function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.on("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startSite(dir, env, fixedPort) {
  const port = fixedPort || await freePort();
  // METRICS_PORT=0: no metrics listener (its default, 9090, would clash between the two sites).
  const child = spawn(serverBin, [], {
    env: { ...process.env, PORT: String(port), HOST: "127.0.0.1", SITE_DIR: layers[dir].join(":"), LOG_FORMAT: "json", RUST_LOG: "warn", METRICS_PORT: "0", ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  children.push(child);
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      const res = await fetch(`${base}/healthz`);
      if (res.ok) return base;
    } catch {
      // not up yet
    }
    if (child.exitCode !== null) throw new Error(`marketing-server exited: ${stderr}`);
    await sleep(100);
  }
  throw new Error(`marketing-server did not start: ${stderr}`);
}

// Chromium with the DevTools protocol on fds 3 (commands in) and 4 (events and answers out),
// each message a JSON text ended by a NUL byte.
function startChromium() {
  const profile = mkdtempSync(join(tmpdir(), "ledgerly-chrome-"));
  cleanups.push(() => rmSync(profile, { recursive: true, force: true, maxRetries: 5 }));
  const child = spawn(chromium, [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
    "--disable-background-networking", `--user-data-dir=${profile}`, "--remote-debugging-pipe", "about:blank",
  ], { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] });
  children.push(child);
  let stderr = "";
  child.stderr.on("data", (d) => (stderr = (stderr + d).slice(-2000)));
  child.on("exit", (code, signal) => {
    if (!shuttingDown) {
      console.error(`chromium exited (${code ?? signal}): ${stderr}`);
      process.exit(1);
    }
  });
  return new Cdp(child.stdio[3], child.stdio[4]);
}

class Cdp {
  constructor(input, output) {
    this.input = input;
    this.id = 0;
    this.pending = new Map();
    this.listeners = [];
    let buf = Buffer.alloc(0);
    output.on("data", (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      let end;
      while ((end = buf.indexOf(0)) !== -1) {
        this.dispatch(JSON.parse(buf.subarray(0, end).toString("utf8")));
        buf = buf.subarray(end + 1);
      }
    });
  }
  dispatch(msg) {
    if (msg.id && this.pending.has(msg.id)) {
      const { ok, fail } = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (msg.error) fail(new Error(msg.error.message));
      else ok(msg.result);
    } else if (msg.method) {
      this.listeners.forEach((fn) => fn(msg));
    }
  }
  send(method, params = {}, sessionId) {
    const id = ++this.id;
    this.input.write(JSON.stringify({ id, method, params, sessionId }) + "\0");
    return new Promise((ok, fail) => this.pending.set(id, { ok, fail }));
  }
}

const problems = [];
let checks = 0;

async function newPage(cdp) {
  const { targetId } = await cdp.send("Target.createTarget", { url: "about:blank" });
  const { sessionId } = await cdp.send("Target.attachToTarget", { targetId, flatten: true });
  const page = {
    errors: [],
    send: (method, params) => cdp.send(method, params, sessionId),
    async eval(expression) {
      const r = await cdp.send("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true }, sessionId);
      if (r.exceptionDetails) throw new Error(`eval failed: ${expression}: ${r.exceptionDetails.exception?.description || r.exceptionDetails.text}`);
      return r.result.value;
    },
    async goto(url) {
      await this.send("Page.navigate", { url });
      await this.waitFor("document.readyState === 'complete'");
    },
    async waitFor(expression, what = expression, timeoutMs = 10000) {
      const end = Date.now() + timeoutMs;
      while (Date.now() < end) {
        if (await this.eval(`Boolean(${expression})`).catch(() => false)) return;
        await sleep(50);
      }
      throw new Error(`timed out waiting for ${what} at ${await this.eval("location.href")}`);
    },
  };
  cdp.listeners.push((msg) => {
    if (msg.sessionId !== sessionId) return;
    if (msg.method === "Runtime.exceptionThrown") {
      page.errors.push(`exception: ${msg.params.exceptionDetails.exception?.description || msg.params.exceptionDetails.text}`);
    } else if (msg.method === "Runtime.consoleAPICalled" && msg.params.type === "error") {
      page.errors.push(`console.error: ${msg.params.args.map((a) => a.value ?? a.description).join(" ")}`);
    } else if (msg.method === "Log.entryAdded" && msg.params.entry.level === "error") {
      page.errors.push(`${msg.params.entry.source}: ${msg.params.entry.text} ${msg.params.entry.url || ""}`);
    }
  });
  await page.send("Page.enable");
  await page.send("Runtime.enable");
  await page.send("Log.enable");
  return page;
}

async function check(name, fn) {
  try {
    await fn();
    checks++;
    console.log(`ok - ${name}`);
  } catch (err) {
    problems.push(`${name}: ${err.message}`);
    console.log(`not ok - ${name}: ${err.message}`);
  }
}

function expectNoErrors(page, allowed = []) {
  const errors = page.errors.filter((e) => !allowed.some((re) => re.test(e)));
  page.errors.length = 0;
  assert.deepEqual(errors, [], "no script errors or CSP violations");
}

const cdp = startChromium();

// --- marketing ---------------------------------------------------------------
const marketing = await startSite("marketing", { PUBLIC_APP_URL: "https://app.example.test" });
const m = await newPage(cdp);

await check("marketing: landing page draws the chart from the page's own figures under the CSP", async () => {
  await m.goto(`${marketing}/`);
  await m.waitFor("document.querySelector('#cashflow-chart svg.chart-svg rect')", "chart bars");
  const bars = await m.eval("document.querySelectorAll('#cashflow-chart .chart-series rect').length");
  assert.equal(bars, 24, "12 months x 2 series");
  assert.match(await m.eval("document.querySelector('#cashflow-chart .chart-series-0 rect:last-child title').textContent"),
    /^Oct 2026: Income \$14,738\.93, Expenses \$15,968\.24$/, "each bar names its exact figures");
  assert.equal(await m.eval("document.querySelector('.chart-data').classList.contains('visually-hidden')"), true, "the table stays for screen readers only");
  assert.equal(await m.eval("getComputedStyle(document.querySelector('.hero .wrap')).display"), "grid", "stylesheet applied");
  assert.equal(await m.eval("document.querySelector('a[data-app-path=\"/signup\"]').href"), "https://app.example.test/signup", "app links from runtime config");
  expectNoErrors(m);
});

await check("marketing: without JavaScript the landing page shows the figures as a table", async () => {
  await m.send("Emulation.setScriptExecutionDisabled", { value: true });
  try {
    await m.goto(`${marketing}/`);
    assert.equal(await m.eval("document.querySelector('#cashflow-chart svg')"), null);
    assert.equal(await m.eval("document.querySelectorAll('.chart-data tbody tr').length"), 12);
    assert.ok(await m.eval("document.querySelector('.chart-data table').getBoundingClientRect().height > 200"), "table visible");
  } finally {
    await m.send("Emulation.setScriptExecutionDisabled", { value: false });
  }
  expectNoErrors(m);
});

await check("marketing: pricing switches period and currency", async () => {
  await m.goto(`${marketing}/pricing.html`);
  await m.waitFor("!document.getElementById('plans').hasAttribute('aria-busy')", "pricing.js set up");
  assert.equal(await m.eval("document.querySelector('[data-plan=studio] .amount').textContent"), "$19", "USD monthly price");
  await m.eval("document.querySelector('[data-period=yearly]').click()");
  assert.equal(await m.eval("document.querySelector('[data-plan=studio] .amount').textContent"), "$15.83");
  assert.match(await m.eval("document.querySelector('[data-plan=studio] .price-note').textContent"), /\$190 yearly/);
  assert.equal(await m.eval("document.querySelector('[data-period=yearly]').getAttribute('aria-pressed')"), "true");
  await m.eval("const s = document.getElementById('currency'); s.value = 'EUR'; s.dispatchEvent(new Event('change'))");
  assert.match(await m.eval("document.querySelector('[data-plan=solo] .amount').textContent"), /^€7\.50$|^7,50\s?€$/);
  expectNoErrors(m);
});

await check("marketing: pages are served with their partials resolved exactly as sites/layout.py resolves them", async () => {
  const exported = mkdtempSync(join(tmpdir(), "ledgerly-export-"));
  cleanups.push(() => rmSync(exported, { recursive: true, force: true }));
  execFileSync("python3", [join(repo, "sites", "layout.py"), "export", "marketing", exported]);
  for (const page of ["index.html", "pricing.html", "about.html", "404.html"]) {
    const served = Buffer.from(await (await fetch(`${marketing}/${page}`)).arrayBuffer());
    assert.ok(served.equals(readFileSync(join(exported, page))), `${page} as served = as exported`);
    assert.ok(!served.includes("<!--#"), `${page} has no directive left`);
  }
  for (const path of ["/_partials/header.html", "/_partials/"]) {
    assert.equal((await fetch(`${marketing}${path}`)).status, 404, `${path} is never served`);
  }
});

await check("marketing: the shared header marks the current page", async () => {
  for (const [path, current] of [["/", "/"], ["/index.html", "/"], ["/pricing.html", "/pricing.html"], ["/about", "/about.html"], ["/no-such-page", null]]) {
    await m.goto(`${marketing}${path}`);
    const marked = await m.eval("[...document.querySelectorAll('#site-nav [aria-current=page]')].map((a) => a.getAttribute('href'))");
    assert.deepEqual(marked, current ? [current] : [], path);
  }
  expectNoErrors(m, [/status of 404/]);
});

await check("marketing: about page and 404 page", async () => {
  await m.goto(`${marketing}/about.html`);
  assert.equal(await m.eval("document.querySelector('img[src*=team]').naturalWidth > 0"), true, "illustration loads");
  await m.goto(`${marketing}/no-such-page`);
  assert.equal(await m.eval("document.title"), "Page not found — Ledgerly");
  expectNoErrors(m, [/status of 404/]);
});

await check("marketing: mobile navigation toggles", async () => {
  await m.send("Emulation.setDeviceMetricsOverride", { width: 375, height: 740, deviceScaleFactor: 2, mobile: true });
  await m.goto(`${marketing}/`);
  await m.waitFor("document.documentElement.classList.contains('js')");
  assert.equal(await m.eval("getComputedStyle(document.getElementById('site-nav')).display"), "none");
  await m.eval("document.querySelector('.nav-toggle').click()");
  assert.equal(await m.eval("getComputedStyle(document.getElementById('site-nav')).display"), "block");
  assert.equal(await m.eval("document.querySelector('.nav-toggle').getAttribute('aria-expanded')"), "true");
  await m.send("Emulation.clearDeviceMetricsOverride");
  expectNoErrors(m);
});

// --- frontend ----------------------------------------------------------------
const backend = process.env.BACKEND_URL || `http://127.0.0.1:${await freePort()}`;
// The backend's CORS_ALLOWED_ORIGINS must list this origin: FRONTEND_PORT pins it.
const frontend = await startSite("frontend", { SPA: "true", PUBLIC_API_URL: backend }, Number(process.env.FRONTEND_PORT) || 0);
const f = await newPage(cdp);
const setValue = (selector, value) =>
  f.eval(`(() => { const el = document.querySelector(${JSON.stringify(selector)}); el.value = ${JSON.stringify(value)}; el.dispatchEvent(new Event('input')); })()`);
const text = (selector) => f.eval(`document.querySelector(${JSON.stringify(selector)})?.textContent ?? null`);

await check("frontend: deep link falls back to the SPA and redirects to log in", async () => {
  await f.goto(`${frontend}/accounts`);
  await f.waitFor("location.pathname === '/login'", "redirect to /login");
  assert.equal(await f.eval("new URLSearchParams(location.search).get('next')"), "/accounts");
  assert.equal(await text("h1"), "Log in to Ledgerly");
  assert.equal(await f.eval("document.activeElement.tagName"), "H1", "focus moves to the heading");
  await f.eval("document.querySelector('a[href=\"/signup\"]').click()");
  await f.waitFor("location.pathname === '/signup' && document.querySelector('h1').textContent.includes('Create')");
  await f.goto(`${frontend}/nowhere`);
  await f.waitFor("document.querySelector('h1')?.textContent === 'Page not found'");
  expectNoErrors(f);
});

if (!process.env.BACKEND_URL) {
  await check("frontend: an unreachable backend gives a readable error", async () => {
    await f.goto(`${frontend}/login`);
    await f.waitFor("document.querySelector('form')");
    await setValue("input[name=email]", "someone@example.com");
    await setValue("input[name=password]", "correct horse battery");
    await f.eval("document.querySelector('form button[type=submit]').click()");
    await f.waitFor("document.querySelector('.message.error')", "error message");
    assert.match(await text(".message.error"), new RegExp(`Could not reach the server at ${backend.replace(/[.]/g, "\\.")}`));
    expectNoErrors(f, [/ERR_CONNECTION_REFUSED/, /Failed to load resource/]);
  });
} else {
  const email = `e2e-${Date.now()}@example.com`;
  await check("frontend: sign up, add accounts, record a transaction, see billing", async () => {
    await f.goto(`${frontend}/signup`);
    await f.waitFor("document.querySelector('form')");
    await setValue("input[name=email]", email);
    await setValue("input[name=password]", "correct horse battery");
    await f.eval("document.querySelector('form button[type=submit]').click()");
    await f.waitFor("location.pathname === '/accounts'", "signed in");
    assert.equal(await f.eval("sessionStorage.getItem('ledgerly.token') !== null"), true);
    for (const [name, type] of [["Bank <b>checking</b>", "asset"], ["Rent", "expense"]]) {
      await f.waitFor("!document.querySelector('form button[type=submit]').disabled");
      await setValue("input[name=name]", name);
      await setValue("select[name=type]", type);
      await f.eval("document.querySelector('form button[type=submit]').click()");
      await f.waitFor(`[...document.querySelectorAll('tbody td')].some((td) => td.textContent === ${JSON.stringify(name)})`, `account ${name} listed`);
    }
    assert.equal(await f.eval("document.querySelector('tbody b')"), null, "names are text, not HTML");
    await f.eval("document.querySelector('a[href=\"/transactions\"]').click()");
    await f.waitFor("document.querySelectorAll('select[name=debit_account_id] option').length === 3", "account options");
    await setValue("input[name=amount]", "1,234.56");
    await setValue("input[name=description]", "November rent");
    await f.eval(`(() => { const opts = [...document.querySelectorAll('select[name=debit_account_id] option')];
      document.querySelector('select[name=debit_account_id]').value = opts.find((o) => o.textContent.startsWith('Rent')).value;
      document.querySelector('select[name=credit_account_id]').value = opts.find((o) => o.textContent.startsWith('Bank')).value; })()`);
    await f.eval("document.querySelector('form.tx-form button[type=submit]').click()");
    await f.waitFor("[...document.querySelectorAll('tbody td')].some((td) => td.textContent === '1,234.56')", "transaction listed");
    await f.eval("document.querySelector('a[href=\"/accounts\"]').click()");
    await f.waitFor("[...document.querySelectorAll('tbody td')].some((td) => td.textContent === '-1,234.56')", "bank balance");
    await f.eval("document.querySelector('a[href=\"/billing\"]').click()");
    await f.waitFor("document.querySelector('dl.status:not([hidden])')", "subscription state");
    await f.eval("document.querySelector('.who button').click()");
    await f.waitFor("location.pathname === '/login'");
    assert.equal(await f.eval("sessionStorage.getItem('ledgerly.token')"), null);
    expectNoErrors(f);
  });

  await check("frontend: a wrong password shows the backend's message", async () => {
    await setValue("input[name=email]", email);
    await setValue("input[name=password]", "wrong password!");
    await f.eval("document.querySelector('form button[type=submit]').click()");
    await f.waitFor("document.querySelector('.message.error')?.textContent", "error message");
    assert.notEqual(await text(".message.error"), "");
    expectNoErrors(f, [/status of 401/]);
  });
}

await shutdown();
console.log(problems.length ? `browser check: ${problems.length} failed, ${checks} passed` : `browser check: ok (${checks} checks)`);
process.exit(problems.length ? 1 : 0);
