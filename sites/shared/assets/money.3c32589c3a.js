// Money, for both sites: amounts are integers in the currency's minor unit (cents for USD,
// yen for JPY) end to end. Typed amounts are parsed as decimal strings, digit by digit, so
// "0.29" is 29 cents and never 28.999999; formatting goes from the integer to an exact decimal
// string before Intl sees it.
//
// Served once from sites/shared/ as /assets/money.<hash>.js in both the frontend and the
// marketing site (see sites/README.md).

const MAX_DIGITS = 15; // stays below Number.MAX_SAFE_INTEGER

export class AmountError extends Error {
  constructor(message) {
    super(message);
    this.name = "AmountError";
  }
}

// "1,234.5" -> 123450. Rejects signs, more than two decimals, letters,
// misplaced thousands separators, zero, and values too large to be exact.
export function parseAmountToCents(input) {
  const text = String(input ?? "").trim().replace(/[\s\u00a0\u202f]/g, "").replace(/^[$€£]/, "");
  if (text === "") {
    throw new AmountError("Enter an amount, for example 12.50.");
  }
  if (text.startsWith("-")) {
    throw new AmountError("Enter a positive amount; choose the accounts to set the direction.");
  }
  const match = /^(\d{1,3}(?:,\d{3})+|\d*)(?:\.(\d*))?$/.exec(text);
  if (!match || (match[1] === "" && !match[2])) {
    throw new AmountError("Use digits and an optional decimal point, for example 1234.56.");
  }
  const whole = match[1].replace(/,/g, "");
  const fraction = match[2] ?? "";
  if (fraction.length > 2) {
    throw new AmountError("Use at most two decimals.");
  }
  const digits = (whole + fraction.padEnd(2, "0")).replace(/^0+/, "");
  if (digits === "") {
    throw new AmountError("The amount must be more than zero.");
  }
  if (digits.length > MAX_DIGITS) {
    throw new AmountError("That amount is too large.");
  }
  return Number(digits);
}

// 1583 -> "15.83", -5 -> "-0.05", 1400 with 0 minor units -> "1400". Exact for any safe integer.
export function toDecimalString(minor, units = 2) {
  const negative = minor < 0;
  const digits = String(Math.abs(minor)).padStart(units + 1, "0");
  const cut = digits.length - units;
  const fraction = units > 0 ? `.${digits.slice(cut)}` : "";
  return `${negative ? "-" : ""}${digits.slice(0, cut)}${fraction}`;
}

// 123450 -> "1,234.50"; -5 -> "-0.05": the app's tables and messages (no currency symbol).
export function formatCents(cents) {
  if (!Number.isSafeInteger(cents)) {
    return "—";
  }
  return toDecimalString(cents, 2).replace(/\B(?=(\d{3})+(?!\d))(?=\d*\.)/g, ",");
}

const formatters = new Map();

function formatter(locale, currency, digits) {
  const key = JSON.stringify([locale ?? null, currency, digits]);
  let fmt = formatters.get(key);
  if (!fmt) {
    fmt = new Intl.NumberFormat(locale, { style: "currency", currency, ...digits });
    formatters.set(key, fmt);
  }
  return fmt;
}

// Digits after the decimal point in `currency` (ISO 4217 minor units: USD 2, JPY 0, KWD 3),
// from the platform's own currency data.
export function minorUnits(currency) {
  return formatter("en", currency, {}).resolvedOptions().maximumFractionDigits;
}

// Minor units for display with the currency's symbol: formatMoney(1583, "USD") -> "$15.83".
// `compact` gives "$21.3K" (axis labels); `dropZeroFraction` gives "$19" for 1900 but keeps
// "$15.80" for 1580 (prices). `locale` defaults to the browser's.
export function formatMoney(minor, currency, { locale, compact = false, dropZeroFraction = false } = {}) {
  if (!Number.isSafeInteger(minor)) {
    return "—";
  }
  const units = minorUnits(currency);
  const decimal = toDecimalString(minor, units);
  if (compact) {
    return formatter(locale, currency, { notation: "compact", maximumFractionDigits: 1 }).format(Number(decimal));
  }
  const fraction = dropZeroFraction && minor % 10 ** units === 0 ? 0 : units;
  // Intl reads a decimal string exactly (a Number would round beyond 15 digits).
  return formatter(locale, currency, { minimumFractionDigits: fraction, maximumFractionDigits: fraction }).format(decimal);
}

// minor / divisor rounded half to even (the rule accountants use), e.g. a yearly price per month.
export function divideHalfEven(minor, divisor) {
  const quotient = Math.floor(minor / divisor);
  const twice = (minor - quotient * divisor) * 2;
  return twice > divisor || (twice === divisor && quotient % 2 !== 0) ? quotient + 1 : quotient;
}
