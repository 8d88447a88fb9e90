// Ledgerly web app: a History-API router and one view per route. Every piece
// of data from the API is rendered with textContent (see dom.js).

import { api, ApiError, session, setUnauthorizedHandler } from "./api.aa69343699.js";
import { apiUrl } from "./config.1a53501da6.js";
import { h, clear, showMessage } from "./dom.52616fb354.js";
import { formatCents, parseAmountToCents, AmountError } from "./money.3c32589c3a.js";
import { describeBilling, waitForSubscription } from "./billing.0728fd6e43.js";
import { balanceChart } from "./chart.2f28d8861e.js";

const ACCOUNT_TYPES = ["asset", "liability", "income", "expense"];
const PAGE_SIZE = 50;

const routes = {
  "/login": { title: "Log in", view: authView("login"), public: true },
  "/signup": { title: "Sign up", view: authView("signup"), public: true },
  "/accounts": { title: "Accounts", view: accountsView },
  "/transactions": { title: "Transactions", view: transactionsView },
  "/billing": { title: "Billing", view: billingView },
  "/billing/success": { title: "Subscribed", view: checkoutReturnView("success") },
  "/billing/cancel": { title: "Checkout canceled", view: checkoutReturnView("cancel") },
};

const main = document.getElementById("main");
const nav = document.getElementById("app-nav");
let currentAbort = null;

// ---------------------------------------------------------------------------
// Router
// ---------------------------------------------------------------------------

export function navigate(path, { replace = false } = {}) {
  if (replace) {
    history.replaceState(null, "", path);
  } else {
    history.pushState(null, "", path);
  }
  render();
}

function render() {
  if (currentAbort) currentAbort.abort();
  currentAbort = new AbortController();
  const { signal } = currentAbort;

  const path = location.pathname.replace(/\/+$/, "") || "/";
  if (path === "/" || path === "/index.html") {
    navigate(session.token ? "/accounts" : "/login", { replace: true });
    return;
  }
  const route = routes[path];
  renderNav(path);
  clear(main);
  if (!route) {
    document.title = "Not found — Ledgerly";
    main.append(notFoundView());
    focusHeading();
    return;
  }
  if (!route.public && !session.token) {
    const next = encodeURIComponent(path + location.search);
    navigate(`/login?next=${next}`, { replace: true });
    return;
  }
  if (route.public && session.token) {
    navigate("/accounts", { replace: true });
    return;
  }
  document.title = `${route.title} — Ledgerly`;
  main.append(route.view(signal));
  focusHeading();
}

function focusHeading() {
  const heading = main.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }
}

function renderNav(path) {
  clear(nav);
  const link = (href, text) =>
    h("a", { href, "aria-current": path === href ? "page" : null, dataset: { link: "" } }, text);
  const items = session.token
    ? [
        link("/accounts", "Accounts"),
        link("/transactions", "Transactions"),
        link("/billing", "Billing"),
      ]
    : [link("/login", "Log in"), link("/signup", "Sign up")];
  const list = h("ul", {}, items.map((item) => h("li", {}, item)));
  nav.append(list);
  if (session.token) {
    const user = session.user;
    const logout = h("button", { type: "button", class: "link-button" }, "Log out");
    logout.addEventListener("click", () => {
      session.clear();
      navigate("/login");
    });
    nav.append(h("div", { class: "who" }, user && user.email ? h("span", { class: "email", text: user.email }) : null, logout));
  }
}

// Same-origin links marked data-link go through the router, not the network.
document.addEventListener("click", (event) => {
  const anchor = event.target instanceof Element ? event.target.closest("a[data-link]") : null;
  if (!anchor || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const url = new URL(anchor.href, location.href);
  if (url.origin !== location.origin) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
});

window.addEventListener("popstate", render);

setUnauthorizedHandler(() => {
  const next = encodeURIComponent(location.pathname + location.search);
  history.replaceState(null, "", `/login?next=${next}&expired=1`);
  render();
});

// ---------------------------------------------------------------------------
// Shared bits
// ---------------------------------------------------------------------------

function messageRegion() {
  return h("p", { class: "message", role: "alert", hidden: true });
}

function field(label, input, hint) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  const hintEl = hint ? h("small", { id: `${id}-hint`, class: "hint", text: hint }) : null;
  if (hintEl) input.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { for: id, text: label }), input, hintEl);
}

function errorText(err) {
  if (err instanceof ApiError || err instanceof AmountError) return err.message;
  return "Something went wrong. Please try again.";
}

function busy(button, isBusy, busyText) {
  if (isBusy) {
    button.dataset.label = button.textContent;
    button.textContent = busyText;
    button.disabled = true;
  } else {
    button.textContent = button.dataset.label || button.textContent;
    button.disabled = false;
  }
}

function typeLabel(type) {
  return type ? type.charAt(0).toUpperCase() + type.slice(1) : "";
}

function today() {
  const d = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function isAbort(err) {
  return err && err.name === "AbortError";
}

// The server's billing state; null when billing is off there (the routes answer 404).
async function loadBilling() {
  try {
    return await api.subscription();
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

// After the trial without a subscription the server refuses writes (402): say so above the
// page and disable its forms, leaving everything readable.
function paywall(section, forms, signal) {
  loadBilling().then((sub) => {
    if (signal.aborted) return;
    const billing = describeBilling(sub);
    if (billing.canWrite) return;
    for (const form of forms) {
      form.querySelectorAll("input, select, textarea, button").forEach((el) => { el.disabled = true; });
      form.classList.add("locked");
    }
    const banner = h(
      "div",
      { class: "card paywall", id: "paywall", role: "status" },
      h("h2", { text: "Subscribe to keep adding and changing data" }),
      h("p", { text: billing.summary }),
      h("a", { href: "/billing", class: "button", dataset: { link: "" } }, "Go to Billing"),
    );
    section.insertBefore(banner, section.children[1] || null);
  }).catch(() => {});
}

// ---------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------

function authView(mode) {
  return function view() {
    const isSignup = mode === "signup";
    const params = new URLSearchParams(location.search);
    const email = h("input", { type: "email", name: "email", autocomplete: "email", required: true });
    const password = h("input", {
      type: "password",
      name: "password",
      autocomplete: isSignup ? "new-password" : "current-password",
      minlength: isSignup ? 8 : null,
      required: true,
    });
    const submit = h("button", { type: "submit", class: "button" }, isSignup ? "Create account" : "Log in");
    const message = messageRegion();
    const form = h(
      "form",
      { class: "card auth-form", novalidate: true },
      h("h1", { text: isSignup ? "Create your Ledgerly account" : "Log in to Ledgerly" }),
      message,
      field("Email", email),
      field("Password", password, isSignup ? "At least 8 characters." : null),
      submit,
      h(
        "p",
        { class: "switch" },
        isSignup ? "Already have an account? " : "New to Ledgerly? ",
        h("a", { href: isSignup ? "/login" : "/signup", dataset: { link: "" } }, isSignup ? "Log in" : "Create an account"),
      ),
    );
    if (!isSignup && params.get("expired")) {
      showMessage(message, "Your session has ended. Please log in again.", "info");
    }
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!email.value.trim() || !email.checkValidity()) {
        showMessage(message, "Enter a valid email address.");
        email.focus();
        return;
      }
      if (!password.value || (isSignup && password.value.length < 8)) {
        showMessage(message, isSignup ? "Choose a password of at least 8 characters." : "Enter your password.");
        password.focus();
        return;
      }
      showMessage(message, "");
      busy(submit, true, isSignup ? "Creating account…" : "Logging in…");
      try {
        const fn = isSignup ? api.signup : api.login;
        const result = await fn(email.value.trim(), password.value);
        if (!result || typeof result.token !== "string") {
          throw new ApiError(500, "bad_response", "The server sent an unexpected answer.");
        }
        session.save(result.token, result.user);
        const next = params.get("next");
        navigate(next && next.startsWith("/") && !next.startsWith("//") ? next : "/accounts", { replace: true });
      } catch (err) {
        busy(submit, false);
        showMessage(message, errorText(err));
      }
    });
    return h("section", { class: "narrow" }, form);
  };
}

function accountsView(signal) {
  const message = messageRegion();
  const tbody = h("tbody");
  const table = h(
    "table",
    { class: "data" },
    h("caption", { class: "visually-hidden", text: "Your accounts" }),
    h(
      "thead",
      {},
      h("tr", {}, h("th", { scope: "col", text: "Name" }), h("th", { scope: "col", text: "Type" }), h("th", { scope: "col", class: "num", text: "Balance" })),
    ),
    tbody,
  );
  const empty = h("p", { class: "empty", hidden: true, text: "No accounts yet. Add your bank account, a card, and an income and expense account to start." });
  const loading = h("p", { class: "loading", text: "Loading accounts…" });
  const chart = h("figure", { class: "card chart", id: "balance-chart", hidden: true }, h("figcaption", { text: "Balances" }));

  const name = h("input", { type: "text", name: "name", maxlength: 200, required: true, autocomplete: "off" });
  const type = h("select", { name: "type", required: true }, ACCOUNT_TYPES.map((t) => h("option", { value: t, text: typeLabel(t) })));
  const submit = h("button", { type: "submit", class: "button" }, "Add account");
  const formMessage = messageRegion();
  const form = h(
    "form",
    { class: "card inline-form", novalidate: true },
    h("h2", { text: "Add an account" }),
    formMessage,
    h("div", { class: "row" }, field("Name", name), field("Type", type), submit),
  );

  function row(account) {
    return h(
      "tr",
      {},
      h("td", { text: account.name }),
      h("td", {}, h("span", { class: `tag tag-${ACCOUNT_TYPES.includes(account.type) ? account.type : "other"}`, text: typeLabel(account.type) })),
      h("td", { class: "num", text: formatCents(account.balance_cents ?? 0) }),
    );
  }

  async function load() {
    try {
      const { items } = await api.accounts();
      if (signal.aborted) return;
      clear(tbody);
      items.forEach((a) => tbody.append(row(a)));
      empty.hidden = items.length > 0;
      table.hidden = items.length === 0;
      chart.querySelector("svg")?.remove();
      chart.append(balanceChart(items));
      chart.hidden = items.length === 0;
    } catch (err) {
      if (!isAbort(err)) showMessage(message, errorText(err));
    } finally {
      loading.remove();
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = name.value.trim();
    if (!value) {
      showMessage(formMessage, "Give the account a name.");
      name.focus();
      return;
    }
    showMessage(formMessage, "");
    busy(submit, true, "Adding…");
    try {
      await api.createAccount(value, type.value);
      name.value = "";
      await load();
      showMessage(formMessage, `Added “${value}”.`, "info");
    } catch (err) {
      showMessage(formMessage, errorText(err));
    } finally {
      busy(submit, false);
    }
  });

  table.hidden = true;
  load();
  const section = h("section", {}, h("h1", { text: "Accounts" }), message, loading, empty, h("div", { class: "table-scroll" }, table), chart, form);
  paywall(section, [form], signal);
  return section;
}

function transactionsView(signal) {
  const message = messageRegion();
  let accounts = [];
  let nextCursor = null;
  let filters = {};
  const accountName = (id) => accounts.find((a) => a.id === id)?.name ?? "Unknown account";

  // Filters
  const from = h("input", { type: "date", name: "from" });
  const to = h("input", { type: "date", name: "to" });
  const accountFilter = h("select", { name: "account_id" }, h("option", { value: "", text: "All accounts" }));
  const filterForm = h(
    "form",
    { class: "filters", role: "search" },
    field("From", from),
    field("To", to),
    field("Account", accountFilter),
    h("button", { type: "submit", class: "button secondary" }, "Apply"),
  );

  // List
  const tbody = h("tbody");
  const table = h(
    "table",
    { class: "data", hidden: true },
    h("caption", { class: "visually-hidden", text: "Transactions, newest first" }),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col", text: "Date" }),
        h("th", { scope: "col", text: "Description" }),
        h("th", { scope: "col", text: "Debit" }),
        h("th", { scope: "col", text: "Credit" }),
        h("th", { scope: "col", class: "num", text: "Amount" }),
      ),
    ),
    tbody,
  );
  const empty = h("p", { class: "empty", hidden: true, text: "No transactions match." });
  const more = h("button", { type: "button", class: "button secondary", hidden: true }, "Load more");

  // New transaction
  const date = h("input", { type: "date", name: "date", required: true, value: today() });
  const description = h("input", { type: "text", name: "description", maxlength: 1000, autocomplete: "off" });
  const amount = h("input", { type: "text", name: "amount", inputmode: "decimal", required: true, autocomplete: "off", placeholder: "0.00" });
  const debit = h("select", { name: "debit_account_id", required: true });
  const credit = h("select", { name: "credit_account_id", required: true });
  const submit = h("button", { type: "submit", class: "button" }, "Record transaction");
  const formMessage = messageRegion();
  const form = h(
    "form",
    { class: "card tx-form", novalidate: true },
    h("h2", { text: "Record a transaction" }),
    formMessage,
    h(
      "div",
      { class: "grid-form" },
      field("Date", date),
      field("Amount", amount, "For example 1234.56"),
      field("Description", description),
      field("Debit account", debit, "Where the value goes (e.g. an expense, or the bank when paid)."),
      field("Credit account", credit, "Where the value comes from (e.g. the bank, or income)."),
    ),
    submit,
  );

  function fillAccountSelects() {
    for (const select of [debit, credit]) {
      clear(select);
      select.append(h("option", { value: "", text: "Choose an account" }));
      accounts.forEach((a) => select.append(h("option", { value: a.id, text: `${a.name} (${a.type})` })));
    }
    accounts.forEach((a) => accountFilter.append(h("option", { value: a.id, text: a.name })));
  }

  function row(tx) {
    return h(
      "tr",
      {},
      h("td", { class: "nowrap", text: tx.date }),
      h("td", { text: tx.description || "—" }),
      h("td", { text: accountName(tx.debit_account_id) }),
      h("td", { text: accountName(tx.credit_account_id) }),
      h("td", { class: "num", text: formatCents(tx.amount_cents) }),
    );
  }

  async function loadPage(reset) {
    try {
      const query = { ...filters, limit: PAGE_SIZE, cursor: reset ? undefined : nextCursor };
      const { items, nextCursor: cursor } = await api.transactions(query);
      if (signal.aborted) return;
      if (reset) clear(tbody);
      items.forEach((tx) => tbody.append(row(tx)));
      nextCursor = cursor;
      more.hidden = !nextCursor;
      const count = tbody.children.length;
      table.hidden = count === 0;
      empty.hidden = count > 0;
      showMessage(message, "");
    } catch (err) {
      if (!isAbort(err)) showMessage(message, errorText(err));
    }
  }

  filterForm.addEventListener("submit", (event) => {
    event.preventDefault();
    if (from.value && to.value && from.value > to.value) {
      showMessage(message, "The start date must be on or before the end date.");
      return;
    }
    filters = { from: from.value, to: to.value, account_id: accountFilter.value };
    loadPage(true);
  });

  more.addEventListener("click", async () => {
    busy(more, true, "Loading…");
    await loadPage(false);
    busy(more, false);
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let cents;
    try {
      cents = parseAmountToCents(amount.value);
    } catch (err) {
      showMessage(formMessage, errorText(err));
      amount.focus();
      return;
    }
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date.value)) {
      showMessage(formMessage, "Enter the date as YYYY-MM-DD.");
      date.focus();
      return;
    }
    if (!debit.value || !credit.value) {
      showMessage(formMessage, "Choose both a debit and a credit account.");
      (debit.value ? credit : debit).focus();
      return;
    }
    if (debit.value === credit.value) {
      showMessage(formMessage, "The debit and credit accounts must be different.");
      credit.focus();
      return;
    }
    showMessage(formMessage, "");
    busy(submit, true, "Saving…");
    try {
      await api.createTransaction({
        date: date.value,
        amount_cents: cents,
        description: description.value.trim(),
        debit_account_id: debit.value,
        credit_account_id: credit.value,
      });
      amount.value = "";
      description.value = "";
      showMessage(formMessage, `Recorded ${formatCents(cents)} on ${date.value}.`, "info");
      await loadPage(true);
    } catch (err) {
      showMessage(formMessage, errorText(err));
    } finally {
      busy(submit, false);
    }
  });

  (async () => {
    try {
      accounts = (await api.accounts()).items;
      if (signal.aborted) return;
      fillAccountSelects();
      if (accounts.length < 2) {
        showMessage(formMessage, "Create at least two accounts first: every transaction moves value from one account to another.", "info");
      }
      const params = new URLSearchParams(location.search);
      if (params.get("account_id")) accountFilter.value = params.get("account_id");
      filters = { account_id: accountFilter.value };
      await loadPage(true);
    } catch (err) {
      if (!isAbort(err)) showMessage(message, errorText(err));
    }
  })();

  const section = h("section", {}, h("h1", { text: "Transactions" }), form, filterForm, message, h("div", { class: "table-scroll" }, table), empty, more);
  paywall(section, [form], signal);
  return section;
}

function billingView(signal) {
  const message = messageRegion();
  const status = h("dl", { class: "card status", hidden: true });
  const actions = h("div", { class: "actions", hidden: true });
  const loading = h("p", { class: "loading", text: "Loading your subscription…" });

  // Both buttons ask the server for a Stripe URL and send the browser there.
  function stripeButton(label, busyLabel, call, id) {
    const button = h("button", { type: "button", class: "button", id }, label);
    button.addEventListener("click", async () => {
      showMessage(message, "");
      busy(button, true, busyLabel);
      try {
        const { url } = await call();
        if (typeof url !== "string" || !/^https?:\/\//.test(url)) {
          throw new ApiError(502, "bad_response", "The server sent an unexpected answer.");
        }
        location.assign(url);
      } catch (err) {
        busy(button, false);
        showMessage(message, errorText(err));
      }
    });
    return button;
  }

  (async () => {
    try {
      const sub = await loadBilling();
      if (signal.aborted) return;
      const billing = describeBilling(sub);
      status.append(
        h("dt", { text: "Status" }),
        h("dd", {}, h("span", { class: `tag tag-${billing.subscribed ? "ok" : "warn"}`, id: "billing-status", text: billing.status.replace(/_/g, " ") })),
        h("dt", { text: "Access" }),
        h("dd", { id: "billing-summary", text: billing.summary }),
      );
      if (billing.enabled && !billing.subscribed && billing.trialEndsOn) {
        status.append(h("dt", { text: billing.trialActive ? "Trial ends on" : "Trial ended on" }), h("dd", { id: "trial-end", text: billing.trialEndsOn }));
      }
      if (sub && sub.current_period_end) {
        status.append(h("dt", { text: "Renews on" }), h("dd", { text: String(sub.current_period_end).slice(0, 10) }));
      }
      if (billing.canSubscribe && billing.enabled) {
        actions.append(stripeButton("Subscribe", "Opening checkout…", api.checkout, "subscribe"));
      }
      if (billing.canManage) {
        actions.append(stripeButton("Manage billing", "Opening the billing portal…", api.portal, "manage-billing"));
      }
      status.hidden = false;
      actions.hidden = actions.children.length === 0;
    } catch (err) {
      if (!isAbort(err)) showMessage(message, errorText(err));
    } finally {
      loading.remove();
    }
  })();
  return h(
    "section",
    {},
    h("h1", { text: "Billing" }),
    message,
    loading,
    status,
    actions,
    h("p", { class: "hint", text: "Payments are handled securely by Stripe; Ledgerly never sees your card number." }),
  );
}

// Where Stripe Checkout sends the browser back. The webhook that activates the subscription may
// land a moment after the redirect, so the success page asks the server until it has.
function checkoutReturnView(outcome) {
  return function view(signal) {
    const success = outcome === "success";
    const message = messageRegion();
    const state = h("p", { id: "checkout-state", class: "loading", text: success ? "Confirming your payment with Stripe…" : "Checking your subscription…" });
    const next = h("p", { hidden: true }, h("a", { href: "/accounts", class: "button", dataset: { link: "" } }, "Go to your accounts"), " ", h("a", { href: "/billing", dataset: { link: "" } }, "Billing"));
    (async () => {
      const { subscription, active } = await waitForSubscription(loadBilling, {
        timeoutMs: success ? 30000 : 0, signal,
      });
      if (signal.aborted) return;
      state.classList.remove("loading");
      if (active) {
        state.dataset.state = "active";
        state.textContent = "Your subscription is active. Thank you!";
      } else if (success) {
        state.dataset.state = "pending";
        state.textContent = "Stripe has not confirmed the payment yet. It can take a minute: reload this page, or check Billing later.";
      } else {
        state.dataset.state = subscription === null ? "included" : "canceled";
        state.textContent = "Checkout was canceled: nothing was charged. You can subscribe any time from Billing.";
      }
      next.hidden = false;
    })().catch((err) => { if (!isAbort(err)) showMessage(message, errorText(err)); });
    return h("section", { class: "narrow" }, h("h1", { text: success ? "Welcome aboard" : "Checkout canceled" }), message, state, next);
  };
}

function notFoundView() {
  return h(
    "section",
    { class: "narrow center" },
    h("h1", { text: "Page not found" }),
    h("p", { text: "There is nothing at this address." }),
    h("a", { href: session.token ? "/accounts" : "/login", class: "button", dataset: { link: "" } }, "Go to the app"),
  );
}

// ---------------------------------------------------------------------------
// Start
// ---------------------------------------------------------------------------

document.documentElement.dataset.api = apiUrl();
render();
if (session.token) {
  // Refresh the cached user (and find out early if the token has expired).
  api.me().then((user) => {
    if (user && typeof user === "object") {
      session.saveUser(user.user && typeof user.user === "object" ? user.user : user);
      renderNav(location.pathname);
    }
  }).catch(() => {});
}
