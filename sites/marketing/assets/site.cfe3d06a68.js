// Every page of the marketing site loads this module (from the shared _partials/head.html):
// mobile navigation, links into the app, the current page in the menu, and the page's own
// feature, loaded only where its element exists. No inline code anywhere: the CSP is
// `default-src 'self'`.

// A page feature: the element that marks it and the module whose setup(element) wires it up.
const FEATURES = [
  ["#cashflow-chart", () => import("./cashflow.fcc626a950.js")],
  ["#plans", () => import("./pricing.a29a3bf138.js")],
];

// The menu is collapsed by CSS only once JS is known to run (the `js` class), so it stays
// usable without scripts.
function setupNav() {
  const toggle = document.querySelector(".nav-toggle");
  const nav = document.getElementById("site-nav");
  if (!toggle || !nav) return;
  const setOpen = (open) => {
    nav.classList.toggle("open", open);
    toggle.setAttribute("aria-expanded", String(open));
  };
  toggle.addEventListener("click", () => setOpen(toggle.getAttribute("aria-expanded") !== "true"));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && nav.classList.contains("open")) {
      setOpen(false);
      toggle.focus();
    }
  });
}

// Links into the app default to the development address; a deployment points them elsewhere
// with runtime config (PUBLIC_APP_URL).
function setupAppLinks() {
  const config = window.__RUNTIME_CONFIG__ || {};
  const base = typeof config.APP_URL === "string" ? config.APP_URL.replace(/\/+$/, "") : "";
  if (!/^https?:\/\//.test(base)) return;
  for (const link of document.querySelectorAll("a[data-app-path]")) {
    link.href = base + link.dataset.appPath;
  }
}

// Every page includes the same header (_partials/header.html), so the current page is marked
// here rather than in each page's markup.
function markCurrentPage() {
  const page = (path) => path.replace(/\/index\.html$/, "/").replace(/\.html$/, "");
  const here = page(location.pathname);
  for (const link of document.querySelectorAll("#site-nav a[href^='/']")) {
    if (page(link.getAttribute("href")) === here) link.setAttribute("aria-current", "page");
  }
}

document.documentElement.classList.add("js");
setupNav();
setupAppLinks();
markCurrentPage();
for (const [selector, load] of FEATURES) {
  const element = document.querySelector(selector);
  if (element) {
    // Busy until wired up (the module is fetched after the page has loaded). On failure the
    // page's static content (the data table, the USD prices) stays in place.
    element.setAttribute("aria-busy", "true");
    load()
      .then((feature) => feature.setup(element))
      .catch((err) => console.error("ledgerly:", err))
      .finally(() => element.removeAttribute("aria-busy"));
  }
}
