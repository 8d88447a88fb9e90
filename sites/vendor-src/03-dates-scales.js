  // ---------------------------------------------------------------------------
  // dates: ledger dates are calendar days ("YYYY-MM-DD") with no time zone.
  // They are handled as UTC midnights so DST never shifts a day.
  // ---------------------------------------------------------------------------

  var DAY_MS = 86400000;
  var ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
  var MONTH_NAMES = ["January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December"];
  var MONTH_SHORT = MONTH_NAMES.map(function (m) { return m.slice(0, 3); });

  function isLeapYear(year) {
    return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  }

  function daysInMonth(year, month) {
    return [31, isLeapYear(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  }

  function parseDate(text) {
    var m = ISO_DATE.exec(String(text));
    if (!m) {
      throw KitError("date_format", "Use a date like 2026-01-31.");
    }
    var year = Number(m[1]);
    var month = Number(m[2]);
    var day = Number(m[3]);
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
      throw KitError("date_range", "That day does not exist in the calendar.");
    }
    return Date.UTC(year, month - 1, day);
  }

  function isValidDate(text) {
    try {
      parseDate(text);
      return true;
    } catch (e) {
      return false;
    }
  }

  function pad2(n) {
    return n < 10 ? "0" + n : String(n);
  }

  function formatDate(time) {
    var d = new Date(time);
    return d.getUTCFullYear() + "-" + pad2(d.getUTCMonth() + 1) + "-" + pad2(d.getUTCDate());
  }

  function today() {
    var now = new Date();
    return now.getFullYear() + "-" + pad2(now.getMonth() + 1) + "-" + pad2(now.getDate());
  }

  function addDays(text, days) {
    return formatDate(parseDate(text) + days * DAY_MS);
  }

  function addMonths(text, months) {
    var t = new Date(parseDate(text));
    var year = t.getUTCFullYear();
    var month = t.getUTCMonth() + months;
    year += Math.floor(month / 12);
    month = ((month % 12) + 12) % 12;
    var day = Math.min(t.getUTCDate(), daysInMonth(year, month + 1));
    return year + "-" + pad2(month + 1) + "-" + pad2(day);
  }

  function daysBetween(a, b) {
    return Math.round((parseDate(b) - parseDate(a)) / DAY_MS);
  }

  function monthKey(text) {
    return String(text).slice(0, 7);
  }

  function startOfMonth(text) {
    return monthKey(text) + "-01";
  }

  function endOfMonth(text) {
    var year = Number(text.slice(0, 4));
    var month = Number(text.slice(5, 7));
    return monthKey(text) + "-" + pad2(daysInMonth(year, month));
  }

  function eachMonth(from, to) {
    var out = [];
    var cursor = startOfMonth(from);
    var guard = 0;
    while (cursor <= to && guard < 1200) {
      out.push(monthKey(cursor));
      cursor = addMonths(cursor, 1);
      guard += 1;
    }
    return out;
  }

  function isoWeek(text) {
    var t = new Date(parseDate(text));
    var day = t.getUTCDay() || 7;
    t.setUTCDate(t.getUTCDate() + 4 - day);
    var yearStart = Date.UTC(t.getUTCFullYear(), 0, 1);
    var week = Math.ceil(((t.getTime() - yearStart) / DAY_MS + 1) / 7);
    return { year: t.getUTCFullYear(), week: week };
  }

  function quarterOf(text) {
    return Math.floor((Number(text.slice(5, 7)) - 1) / 3) + 1;
  }

  function monthLabel(key, short) {
    var month = Number(key.slice(5, 7)) - 1;
    return (short ? MONTH_SHORT : MONTH_NAMES)[month] + " " + key.slice(0, 4);
  }

  var dates = {
    DAY_MS: DAY_MS,
    MONTH_NAMES: MONTH_NAMES,
    MONTH_SHORT: MONTH_SHORT,
    isLeapYear: isLeapYear,
    daysInMonth: daysInMonth,
    parse: parseDate,
    isValid: isValidDate,
    format: formatDate,
    today: today,
    addDays: addDays,
    addMonths: addMonths,
    daysBetween: daysBetween,
    monthKey: monthKey,
    startOfMonth: startOfMonth,
    endOfMonth: endOfMonth,
    eachMonth: eachMonth,
    isoWeek: isoWeek,
    quarterOf: quarterOf,
    monthLabel: monthLabel
  };

  // ---------------------------------------------------------------------------
  // scales: map data values to pixels, and pick human-friendly ticks
  // ---------------------------------------------------------------------------

  var E10 = Math.sqrt(50);
  var E5 = Math.sqrt(10);
  var E2 = Math.sqrt(2);

  function tickStep(start, stop, count) {
    var step0 = Math.abs(stop - start) / Math.max(0, count);
    if (!isFinite(step0) || step0 === 0) {
      return 1;
    }
    var step1 = Math.pow(10, Math.floor(Math.log(step0) / Math.LN10));
    var error = step0 / step1;
    if (error >= E10) {
      step1 *= 10;
    } else if (error >= E5) {
      step1 *= 5;
    } else if (error >= E2) {
      step1 *= 2;
    }
    return stop < start ? -step1 : step1;
  }

  function ticks(start, stop, count) {
    if (start === stop) {
      return [start];
    }
    var reverse = stop < start;
    if (reverse) {
      var tmp = start;
      start = stop;
      stop = tmp;
    }
    var step = tickStep(start, stop, count);
    var first = Math.ceil(start / step);
    var last = Math.floor(stop / step);
    var out = [];
    for (var i = first; i <= last; i++) {
      // Multiplying integers by the step avoids accumulating float error.
      out.push(Math.round(i * step * 1e10) / 1e10);
    }
    return reverse ? out.reverse() : out;
  }

  function linearScale(domain, rangeOut) {
    var d0 = domain[0];
    var d1 = domain[1];
    var r0 = rangeOut[0];
    var r1 = rangeOut[1];
    function scale(value) {
      if (d1 === d0) {
        return (r0 + r1) / 2;
      }
      return r0 + ((value - d0) / (d1 - d0)) * (r1 - r0);
    }
    scale.invert = function (px) {
      if (r1 === r0) {
        return d0;
      }
      return d0 + ((px - r0) / (r1 - r0)) * (d1 - d0);
    };
    scale.domain = function () {
      return [d0, d1];
    };
    scale.range = function () {
      return [r0, r1];
    };
    scale.ticks = function (count) {
      return ticks(d0, d1, count === undefined ? 5 : count);
    };
    scale.nice = function (count) {
      var step = tickStep(d0, d1, count === undefined ? 5 : count);
      return linearScale([Math.floor(d0 / step) * step, Math.ceil(d1 / step) * step], [r0, r1]);
    };
    return scale;
  }

  function bandScale(keys, rangeOut, padding) {
    padding = padding === undefined ? 0.2 : padding;
    var r0 = rangeOut[0];
    var r1 = rangeOut[1];
    var n = keys.length;
    var step = n === 0 ? 0 : (r1 - r0) / (n + padding);
    var bandwidth = step * (1 - padding);
    var index = new Map();
    keys.forEach(function (k, i) {
      index.set(k, i);
    });
    function scale(key) {
      var i = index.get(key);
      return i === undefined ? NaN : r0 + step * padding + step * i;
    }
    scale.bandwidth = function () {
      return bandwidth;
    };
    scale.step = function () {
      return step;
    };
    scale.domain = function () {
      return keys.slice();
    };
    scale.keyAt = function (px) {
      if (n === 0) {
        return undefined;
      }
      var i = clamp(Math.floor((px - r0 - step * padding / 2) / step), 0, n - 1);
      return keys[i];
    };
    return scale;
  }

  function shortNumber(value) {
    var abs = Math.abs(value);
    var units = [[1e12, "T"], [1e9, "B"], [1e6, "M"], [1e3, "k"]];
    for (var i = 0; i < units.length; i++) {
      if (abs >= units[i][0]) {
        var v = value / units[i][0];
        return (Math.round(v * 10) / 10) + units[i][1];
      }
    }
    return String(Math.round(value * 100) / 100);
  }

  var scales = {
    tickStep: tickStep,
    ticks: ticks,
    linear: linearScale,
    band: bandScale,
    shortNumber: shortNumber
  };
