/* Ledgerly marketing site behaviour: mobile navigation, app links, the landing
 * page chart and the pricing switches. Loaded with `defer`; no inline code
 * anywhere because the CSP is `default-src 'self'`. */
(function () {
  "use strict";

  var root = document.documentElement;
  root.classList.add("js");

  // Mobile navigation: the menu is collapsed by CSS only once JS is known to
  // run (the `js` class), so it stays usable without scripts.
  function setupNav() {
    var toggle = document.querySelector(".nav-toggle");
    var nav = document.getElementById("site-nav");
    if (!toggle || !nav) {
      return;
    }
    function setOpen(open) {
      nav.classList.toggle("open", open);
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    }
    toggle.addEventListener("click", function () {
      setOpen(toggle.getAttribute("aria-expanded") !== "true");
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && nav.classList.contains("open")) {
        setOpen(false);
        toggle.focus();
      }
    });
  }

  // Links into the app default to the development address; a deployment can
  // point them elsewhere through runtime config (APP_URL) when it serves one.
  function setupAppLinks() {
    var config = window.__RUNTIME_CONFIG__ || {};
    var base = typeof config.APP_URL === "string" ? config.APP_URL.replace(/\/+$/, "") : "";
    if (!/^https?:\/\//.test(base)) {
      return;
    }
    Array.prototype.forEach.call(document.querySelectorAll("a[data-app-path]"), function (link) {
      link.href = base + link.getAttribute("data-app-path");
    });
  }

  function setupChart(kit) {
    var el = document.getElementById("cashflow-chart");
    if (!el || !kit) {
      return;
    }
    var rows = kit.demo.ledger().monthly().slice(-12);
    var format = function (minor) {
      return kit.money.formatMoney(Math.round(minor), "USD", "en-US", { compact: true });
    };
    kit.charts.autoResize(el, function () {
      var narrow = el.clientWidth < 420;
      return kit.charts.bar(el, {
        width: narrow ? 360 : 560,
        height: narrow ? 260 : 300,
        margin: { left: narrow ? 48 : 56 },
        categories: rows.map(function (r) { return r.month; }),
        series: [
          { name: "Income", values: rows.map(function (r) { return r.income; }) },
          { name: "Expenses", values: rows.map(function (r) { return r.expenses; }) }
        ],
        title: "Monthly income and expenses, last 12 months",
        description: "Income and expenses of a sample design studio, month by month.",
        format: format,
        valueFormat: function (minor) { return kit.money.formatMoney(minor, "USD", "en-US"); },
        label: function (key, long) {
          return long ? kit.dates.monthLabel(key) : kit.dates.MONTH_SHORT[Number(key.slice(5, 7)) - 1];
        }
      });
    });
  }

  function setupPricing(kit) {
    var plans = document.getElementById("plans");
    var select = document.getElementById("currency");
    var buttons = document.querySelectorAll(".period-switch button[data-period]");
    if (!plans || !select || !kit) {
      return;
    }
    var state = { period: "monthly", currency: select.value };
    try {
      var saved = window.localStorage.getItem("ledgerly.currency");
      var guess = saved || kit.reference.guessCurrency(null, kit.pricing.currencies);
      if (guess && kit.pricing.currencies.indexOf(guess) !== -1) {
        state.currency = guess;
        select.value = guess;
      }
    } catch (e) {
      // Storage can be disabled; the default currency is fine then.
    }

    function render() {
      Array.prototype.forEach.call(buttons, function (b) {
        b.setAttribute("aria-pressed", b.getAttribute("data-period") === state.period ? "true" : "false");
      });
      Array.prototype.forEach.call(plans.querySelectorAll(".plan[data-plan]"), function (card) {
        var price = kit.pricing.price(card.getAttribute("data-plan"), state.currency, state.period);
        var fmt = function (minor) {
          return kit.money.formatMoney(minor, state.currency, undefined, { dropZeroFraction: true });
        };
        card.querySelector(".amount").textContent = fmt(price.perMonthMinor);
        card.querySelector(".per").textContent = "/ month";
        card.querySelector(".price-note").textContent = state.period === "yearly"
          ? "Billed " + fmt(price.totalMinor) + " yearly. You save " + fmt(price.savingMinor) + "."
          : "Billed monthly. Cancel any time.";
      });
    }

    Array.prototype.forEach.call(buttons, function (b) {
      b.addEventListener("click", function () {
        state.period = b.getAttribute("data-period");
        render();
      });
    });
    select.addEventListener("change", function () {
      state.currency = select.value;
      try {
        window.localStorage.setItem("ledgerly.currency", state.currency);
      } catch (e) {
        // Not remembering the choice is acceptable.
      }
      render();
    });
    render();
  }

  function init() {
    var kit = window.LedgerlyKit;
    setupNav();
    setupAppLinks();
    try {
      setupChart(kit);
      setupPricing(kit);
    } catch (err) {
      // The static fallback chart and default prices stay in place.
      if (window.console) {
        window.console.error("ledgerly:", err);
      }
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
