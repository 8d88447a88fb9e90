// The pricing page: monthly/yearly switch and currency picker (pricing.html, #plans).
// pricing.html shows the USD monthly prices without JavaScript; a unit test keeps them equal to
// PRICES.

import { divideHalfEven, formatMoney } from "./money.3c32589c3a.js";

// Monthly list prices in each currency's minor units.
export const PRICES = {
  USD: { solo: 900, studio: 1900, business: 3900 },
  EUR: { solo: 900, studio: 1800, business: 3700 },
  GBP: { solo: 800, studio: 1600, business: 3200 },
  CAD: { solo: 1200, studio: 2500, business: 5200 },
  AUD: { solo: 1400, studio: 2900, business: 5900 },
  JPY: { solo: 1400, studio: 2900, business: 5900 },
};

// A yearly plan bills ten months for twelve.
const YEARLY_MONTHS = 10;

// Where a browser's region tag ("en-GB" -> GB) makes another currency the better first guess.
const REGION_CURRENCY = {
  ...regions("USD", "US EC PR SV ZW"),
  ...regions("EUR", "AT BE DE EE ES FI FR GR HR IE IT LT LU LV ME MT NL PT SI SK"),
  ...regions("GBP", "GB"),
  ...regions("CAD", "CA"),
  ...regions("AUD", "AU"),
  ...regions("JPY", "JP"),
};

function regions(currency, list) {
  return Object.fromEntries(list.split(" ").map((region) => [region, currency]));
}

// { perMonth, total, saving } in minor units; yearly plans show their per-month equivalent.
export function price(plan, currency, period) {
  const monthly = PRICES[currency]?.[plan];
  if (monthly === undefined) {
    throw new Error(`no ${plan} price in ${currency}`);
  }
  if (period !== "yearly") {
    return { perMonth: monthly, total: monthly, saving: 0 };
  }
  const total = monthly * YEARLY_MONTHS;
  return { perMonth: divideHalfEven(total, 12), total, saving: monthly * 12 - total };
}

// The first priced currency of the first language tag with a known region, or null.
export function guessCurrency(languages) {
  for (const tag of languages) {
    let region;
    try {
      region = new Intl.Locale(tag).region;
    } catch {
      continue; // not a well-formed language tag
    }
    if (region && REGION_CURRENCY[region]) {
      return REGION_CURRENCY[region];
    }
  }
  return null;
}

const STORAGE_KEY = "ledgerly.currency";

export function setup(plans) {
  const select = document.getElementById("currency");
  const buttons = [...document.querySelectorAll(".period-switch button[data-period]")];
  const state = { period: "monthly", currency: select.value };
  let saved = null;
  try {
    saved = localStorage.getItem(STORAGE_KEY);
  } catch {
    // Storage can be disabled; the guess or the default currency is fine then.
  }
  const first = saved || guessCurrency(navigator.languages || [navigator.language]);
  if (first && PRICES[first]) {
    state.currency = first;
    select.value = first;
  }

  function render() {
    const fmt = (minor) => formatMoney(minor, state.currency, { dropZeroFraction: true });
    for (const button of buttons) {
      button.setAttribute("aria-pressed", String(button.dataset.period === state.period));
    }
    for (const card of plans.querySelectorAll(".plan[data-plan]")) {
      const p = price(card.dataset.plan, state.currency, state.period);
      card.querySelector(".amount").textContent = fmt(p.perMonth);
      card.querySelector(".per").textContent = "/ month";
      card.querySelector(".price-note").textContent = state.period === "yearly"
        ? `Billed ${fmt(p.total)} yearly. You save ${fmt(p.saving)}.`
        : "Billed monthly. Cancel any time.";
    }
  }

  for (const button of buttons) {
    button.addEventListener("click", () => {
      state.period = button.dataset.period;
      render();
    });
  }
  select.addEventListener("change", () => {
    state.currency = select.value;
    try {
      localStorage.setItem(STORAGE_KEY, state.currency);
    } catch {
      // Not remembering the choice is acceptable.
    }
    render();
  });
  render();
}
