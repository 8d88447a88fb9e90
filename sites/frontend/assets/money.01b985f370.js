// Money is integer cents end to end. User input is parsed as a decimal
// string, digit by digit, so "0.29" is 29 cents and never 28.999999.

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

// 123450 -> "1,234.50"; -5 -> "-0.05". Exact for any safe integer.
export function formatCents(cents) {
  if (!Number.isSafeInteger(cents)) {
    return "—";
  }
  const negative = cents < 0;
  const digits = String(Math.abs(cents)).padStart(3, "0");
  const whole = digits.slice(0, -2).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${negative ? "-" : ""}${whole}.${digits.slice(-2)}`;
}
