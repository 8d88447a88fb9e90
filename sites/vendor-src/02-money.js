  // ---------------------------------------------------------------------------
  // money: amounts are integers in the currency's minor unit (cents), always.
  // Parsing works on the decimal string so 0.1 + 0.2 never enters the picture.
  // ---------------------------------------------------------------------------

  var MAX_MINOR = Number.MAX_SAFE_INTEGER;

  function minorUnitsOf(code) {
    var entry = currencyIndex()[String(code).toUpperCase()];
    return entry ? entry.minorUnits : 2;
  }

  // "1,234.56" -> 123456 (minorUnits = 2). Accepts an optional sign, thousands
  // separators in the usual positions, and at most `minorUnits` decimals.
  function parseAmount(input, minorUnits, options) {
    if (minorUnits === undefined) {
      minorUnits = 2;
    }
    options = options || {};
    var decimal = options.decimal || ".";
    var group = options.group || (decimal === "." ? "," : ".");
    var text = String(input).trim().replace(/[\s\u00a0\u202f]/g, "");
    if (text === "") {
      throw KitError("amount_empty", "Enter an amount.");
    }
    var negative = false;
    if (text[0] === "-" || text[0] === "+") {
      negative = text[0] === "-";
      text = text.slice(1);
    }
    var parts = text.split(decimal);
    if (parts.length > 2) {
      throw KitError("amount_format", "Use at most one decimal separator.");
    }
    var whole = parts[0];
    var fraction = parts.length === 2 ? parts[1] : "";
    if (whole.indexOf(group) !== -1) {
      var groups = whole.split(group);
      var groupsOk = groups[0].length >= 1 && groups[0].length <= 3 &&
        groups.slice(1).every(function (g) { return g.length === 3; });
      if (!groupsOk) {
        throw KitError("amount_format", "Thousands separators are in the wrong place.");
      }
      whole = groups.join("");
    }
    if (whole === "" && fraction === "") {
      throw KitError("amount_format", "Enter an amount such as 12.50.");
    }
    if (!/^\d*$/.test(whole) || !/^\d*$/.test(fraction)) {
      throw KitError("amount_format", "Use digits only, such as 12.50.");
    }
    if (fraction.length > minorUnits) {
      throw KitError("amount_precision", minorUnits === 0
        ? "This currency has no decimals."
        : "Use at most " + minorUnits + " decimals.");
    }
    while (fraction.length < minorUnits) {
      fraction += "0";
    }
    var digits = (whole + fraction).replace(/^0+(?=\d)/, "");
    if (digits === "") {
      digits = "0";
    }
    if (digits.length > 15) {
      throw KitError("amount_too_large", "That amount is too large.");
    }
    var value = Number(digits);
    assert(value <= MAX_MINOR, "amount_too_large", "That amount is too large.");
    return negative && value !== 0 ? -value : value;
  }

  function pow10(n) {
    var p = 1;
    for (var i = 0; i < n; i++) {
      p *= 10;
    }
    return p;
  }

  // 123456 -> "1234.56": exact, no floating point.
  function toDecimalString(minor, minorUnits) {
    if (minorUnits === undefined) {
      minorUnits = 2;
    }
    assert(isSafeInteger(minor), "amount_not_integer", "amounts must be integers in minor units");
    var negative = minor < 0;
    var digits = String(Math.abs(minor));
    if (minorUnits === 0) {
      return (negative ? "-" : "") + digits;
    }
    while (digits.length <= minorUnits) {
      digits = "0" + digits;
    }
    var cut = digits.length - minorUnits;
    return (negative ? "-" : "") + digits.slice(0, cut) + "." + digits.slice(cut);
  }

  var formatterCache = new Map();

  function formatterFor(currency, locale, compact) {
    var key = currency + "|" + (locale || "") + "|" + (compact ? "c" : "");
    var fmt = formatterCache.get(key);
    if (!fmt) {
      var minor = minorUnitsOf(currency);
      var opts = compact
        ? { style: "currency", currency: currency, notation: "compact", maximumFractionDigits: 1 }
        : { style: "currency", currency: currency, minimumFractionDigits: minor, maximumFractionDigits: minor };
      try {
        fmt = new Intl.NumberFormat(locale || undefined, opts);
      } catch (e) {
        fmt = null;
      }
      formatterCache.set(key, fmt);
    }
    return fmt;
  }

  // Formats minor units for display. Intl receives the exact decimal string
  // when the runtime supports it, so large values keep every digit.
  function formatMoney(minor, currency, locale, options) {
    currency = (currency || "USD").toUpperCase();
    options = options || {};
    var units = minorUnitsOf(currency);
    var decimalString = toDecimalString(minor, units);
    var fmt = formatterFor(currency, locale, options.compact);
    if (!fmt) {
      var entry = currencyIndex()[currency];
      return (entry && entry.symbol ? entry.symbol : currency + " ") + groupDigits(decimalString);
    }
    if (options.dropZeroFraction && minor % pow10(units) === 0) {
      var whole = minor / pow10(units);
      var plain = formatterFor(currency, locale, false);
      return plain.formatToParts(whole).filter(function (part) {
        return part.type !== "decimal" && part.type !== "fraction";
      }).map(function (part) { return part.value; }).join("");
    }
    return fmt.format(options.compact ? Number(decimalString) : decimalString);
  }

  function groupDigits(decimalString) {
    var negative = decimalString[0] === "-";
    var body = negative ? decimalString.slice(1) : decimalString;
    var dot = body.indexOf(".");
    var whole = dot === -1 ? body : body.slice(0, dot);
    var rest = dot === -1 ? "" : body.slice(dot);
    var out = "";
    while (whole.length > 3) {
      out = "," + whole.slice(-3) + out;
      whole = whole.slice(0, -3);
    }
    return (negative ? "-" : "") + whole + out + rest;
  }

  // Rounds half to even: the rounding rule accountants expect for rates.
  function roundHalfEven(numerator, denominator) {
    assert(denominator > 0, "bad_denominator", "denominator must be positive");
    var negative = numerator < 0;
    var n = Math.abs(numerator);
    var q = Math.floor(n / denominator);
    var r = n - q * denominator;
    var twice = r * 2;
    if (twice > denominator || (twice === denominator && q % 2 === 1)) {
      q += 1;
    }
    return negative ? -q : q;
  }

  // Applies a rate given in basis points (1 bp = 0.01 %), e.g. VAT 20 % = 2000.
  function applyBasisPoints(minor, basisPoints) {
    return roundHalfEven(minor * basisPoints, 10000);
  }

  // Splits an amount into parts proportional to `ratios` without losing a
  // cent: the remainder goes to the parts with the largest fractional share.
  function allocate(minor, ratios) {
    assert(isSafeInteger(minor), "amount_not_integer", "amounts must be integers in minor units");
    assert(ratios.length > 0, "no_ratios", "allocate needs at least one ratio");
    var total = ratios.reduce(function (a, b) { return a + b; }, 0);
    assert(total > 0, "bad_ratios", "ratios must add up to more than zero");
    var sign = minor < 0 ? -1 : 1;
    var amount = Math.abs(minor);
    var shares = ratios.map(function (ratio, index) {
      var exact = (amount * ratio) / total;
      var floor = Math.floor(exact);
      return { index: index, value: floor, rest: exact - floor };
    });
    var remainder = amount - shares.reduce(function (a, sh) { return a + sh.value; }, 0);
    shares.slice().sort(function (a, b) {
      return b.rest - a.rest || a.index - b.index;
    }).slice(0, remainder).forEach(function (sh) {
      sh.value += 1;
    });
    return shares.map(function (sh) { return sign * sh.value; });
  }

  function addMoney() {
    var total = 0;
    for (var i = 0; i < arguments.length; i++) {
      assert(isSafeInteger(arguments[i]), "amount_not_integer", "amounts must be integers in minor units");
      total += arguments[i];
    }
    assert(isSafeInteger(total), "amount_too_large", "sum exceeds the safe integer range");
    return total;
  }

  function convert(minor, fromCurrency, toCurrency, rate) {
    var fromUnits = minorUnitsOf(fromCurrency);
    var toUnits = minorUnitsOf(toCurrency);
    // rate is quoted as a decimal string ("1.0825") to stay exact.
    var rateParts = String(rate).split(".");
    var rateScale = rateParts.length === 2 ? rateParts[1].length : 0;
    var rateInt = Number(rateParts.join(""));
    var numerator = minor * rateInt * pow10(toUnits);
    var denominator = pow10(rateScale) * pow10(fromUnits);
    return roundHalfEven(numerator, denominator);
  }

  var money = {
    parseAmount: parseAmount,
    toDecimalString: toDecimalString,
    formatMoney: formatMoney,
    groupDigits: groupDigits,
    roundHalfEven: roundHalfEven,
    applyBasisPoints: applyBasisPoints,
    allocate: allocate,
    add: addMoney,
    convert: convert,
    minorUnitsOf: minorUnitsOf
  };
