  // ---------------------------------------------------------------------------
  // ledger: a tiny in-memory double-entry engine, used for demo figures
  // ---------------------------------------------------------------------------

  var ACCOUNT_TYPES = ["asset", "liability", "income", "expense"];
  var DEBIT_NORMAL = { asset: true, expense: true, liability: false, income: false };

  function Ledger(accounts) {
    Emitter.call(this);
    this.accounts = new Map();
    this.transactions = [];
    this._balances = new Map();
    var self = this;
    (accounts || []).forEach(function (account) {
      self.addAccount(account);
    });
  }

  Ledger.prototype = Object.create(Emitter.prototype);
  Ledger.prototype.constructor = Ledger;

  Ledger.prototype.addAccount = function (account) {
    assert(account && account.id !== undefined, "account_id", "an account needs an id");
    assert(ACCOUNT_TYPES.indexOf(account.type) !== -1, "account_type",
      "account type must be one of " + ACCOUNT_TYPES.join(", "));
    assert(!this.accounts.has(account.id), "account_duplicate", "duplicate account id " + account.id);
    var copy = { id: account.id, name: String(account.name || ""), type: account.type };
    this.accounts.set(copy.id, copy);
    this._balances.set(copy.id, 0);
    this.emit("account", copy);
    return copy;
  };

  Ledger.prototype.post = function (tx) {
    assert(isSafeInteger(tx.amount_cents) && tx.amount_cents > 0, "amount", "amount_cents must be a positive integer");
    assert(isValidDate(tx.date), "date", "date must be YYYY-MM-DD");
    assert(this.accounts.has(tx.debit_account_id), "debit_account", "unknown debit account");
    assert(this.accounts.has(tx.credit_account_id), "credit_account", "unknown credit account");
    assert(tx.debit_account_id !== tx.credit_account_id, "same_account", "debit and credit accounts must differ");
    var entry = {
      id: tx.id === undefined ? this.transactions.length + 1 : tx.id,
      date: tx.date,
      amount_cents: tx.amount_cents,
      description: String(tx.description || ""),
      debit_account_id: tx.debit_account_id,
      credit_account_id: tx.credit_account_id
    };
    this.transactions.push(entry);
    this._balances.set(entry.debit_account_id, this._balances.get(entry.debit_account_id) + entry.amount_cents);
    this._balances.set(entry.credit_account_id, this._balances.get(entry.credit_account_id) - entry.amount_cents);
    this.emit("post", entry);
    return entry;
  };

  // Balance in the account's natural sign: a bank account holding money and
  // an income account that earned money are both positive.
  Ledger.prototype.balance = function (accountId) {
    var account = this.accounts.get(accountId);
    assert(account, "account_unknown", "unknown account " + accountId);
    var raw = this._balances.get(accountId);
    var natural = DEBIT_NORMAL[account.type] ? raw : -raw;
    return natural === 0 ? 0 : natural;
  };

  Ledger.prototype.trialBalance = function () {
    var debits = 0;
    var credits = 0;
    var rows = [];
    var self = this;
    this.accounts.forEach(function (account) {
      var raw = self._balances.get(account.id);
      rows.push({ account: account, debit: raw > 0 ? raw : 0, credit: raw < 0 ? -raw : 0 });
      if (raw > 0) {
        debits += raw;
      } else {
        credits -= raw;
      }
    });
    return { rows: rows, debits: debits, credits: credits, balanced: debits === credits };
  };

  Ledger.prototype.between = function (from, to, accountId) {
    return this.transactions.filter(function (tx) {
      return (!from || tx.date >= from) && (!to || tx.date <= to) &&
        (accountId === undefined || tx.debit_account_id === accountId || tx.credit_account_id === accountId);
    });
  };

  // Income and expenses per calendar month, plus the running net result.
  Ledger.prototype.monthly = function (from, to) {
    var self = this;
    var txs = this.between(from, to);
    if (txs.length === 0) {
      return [];
    }
    var first = from || txs.reduce(function (m, tx) { return tx.date < m ? tx.date : m; }, txs[0].date);
    var last = to || txs.reduce(function (m, tx) { return tx.date > m ? tx.date : m; }, txs[0].date);
    var rows = new Map();
    eachMonth(first, last).forEach(function (key) {
      rows.set(key, { month: key, income: 0, expenses: 0, net: 0, cumulative: 0 });
    });
    txs.forEach(function (tx) {
      var row = rows.get(monthKey(tx.date));
      if (!row) {
        return;
      }
      var debit = self.accounts.get(tx.debit_account_id);
      var credit = self.accounts.get(tx.credit_account_id);
      if (credit.type === "income") { row.income += tx.amount_cents; }
      if (debit.type === "income") { row.income -= tx.amount_cents; }
      if (debit.type === "expense") { row.expenses += tx.amount_cents; }
      if (credit.type === "expense") { row.expenses -= tx.amount_cents; }
    });
    var running = 0;
    var out = [];
    rows.forEach(function (row) {
      row.net = row.income - row.expenses;
      running += row.net;
      row.cumulative = running;
      out.push(row);
    });
    return out;
  };

  Ledger.prototype.byAccount = function (type, from, to) {
    var self = this;
    var totals = new Map();
    this.between(from, to).forEach(function (tx) {
      [[tx.debit_account_id, 1], [tx.credit_account_id, -1]].forEach(function (pair) {
        var account = self.accounts.get(pair[0]);
        if (account.type !== type) {
          return;
        }
        var sign = DEBIT_NORMAL[type] ? pair[1] : -pair[1];
        totals.set(account.id, (totals.get(account.id) || 0) + sign * tx.amount_cents);
      });
    });
    return Array.from(totals, function (entry) {
      return { account: self.accounts.get(entry[0]), total: entry[1] };
    }).sort(function (a, b) { return b.total - a.total; });
  };

  var ledger = {
    ACCOUNT_TYPES: ACCOUNT_TYPES,
    DEBIT_NORMAL: DEBIT_NORMAL,
    Ledger: Ledger
  };

  // ---------------------------------------------------------------------------
  // charts: accessible SVG charts built with DOM calls only (CSP-friendly)
  // ---------------------------------------------------------------------------

  var PALETTE = ["#0f766e", "#f59e0b", "#14213d", "#6366f1", "#dc2626", "#0891b2", "#65a30d"];

  var DEFAULTS = {
    width: 640,
    height: 320,
    margin: { top: 16, right: 16, bottom: 36, left: 56 },
    ticks: 5,
    fontSize: 12,
    padding: 0.25,
    format: function (v) { return shortNumber(v); },
    label: identity,
    title: "",
    description: "",
    table: true
  };

  function chartFrame(container, opts) {
    var titleId = uid("lc-title");
    var descId = uid("lc-desc");
    var svgEl = s("svg", {
      class: "lc-svg",
      viewBox: "0 0 " + opts.width + " " + opts.height,
      width: opts.width,
      height: opts.height,
      role: "img",
      "aria-labelledby": titleId + " " + descId,
      preserveAspectRatio: "xMidYMid meet"
    }, [
      s("title", { id: titleId, text: opts.title || "Chart" }),
      s("desc", { id: descId, text: opts.description || "" })
    ]);
    clear(container);
    container.appendChild(svgEl);
    return svgEl;
  }

  function drawYAxis(svgEl, y, opts, innerWidth) {
    var g = s("g", { class: "lc-axis lc-axis-y", transform: "translate(" + opts.margin.left + "," + opts.margin.top + ")" });
    y.ticks(opts.ticks).forEach(function (t) {
      var py = y(t);
      g.appendChild(s("line", { x1: 0, x2: innerWidth, y1: py, y2: py, stroke: t === 0 ? "#94a3b8" : "#e2e8f0", "stroke-width": 1 }));
      g.appendChild(s("text", { x: -8, y: py, dy: "0.32em", "text-anchor": "end", "font-size": opts.fontSize, fill: "#4a5670", text: opts.format(t) }));
    });
    svgEl.appendChild(g);
  }

  function drawXAxis(svgEl, x, categories, opts, innerHeight) {
    var g = s("g", { class: "lc-axis lc-axis-x", transform: "translate(" + opts.margin.left + "," + (opts.margin.top + innerHeight) + ")" });
    var every = Math.max(1, Math.ceil(categories.length / 8));
    categories.forEach(function (cat, i) {
      if (i % every !== 0) {
        return;
      }
      var px = x(cat) + (x.bandwidth ? x.bandwidth() / 2 : 0);
      g.appendChild(s("text", { x: px, y: 20, "text-anchor": "middle", "font-size": opts.fontSize, fill: "#4a5670", text: opts.label(cat) }));
    });
    svgEl.appendChild(g);
  }

  function dataTable(container, categories, series, opts) {
    // Wrapped: a table ignores a 1px width, a block clips it.
    var table = h("table", null, [
      h("caption", { text: opts.title || "Chart data" }),
      h("thead", null, h("tr", null, [h("th", { scope: "col", text: "" })].concat(series.map(function (sr) {
        return h("th", { scope: "col", text: sr.name });
      })))),
      h("tbody", null, categories.map(function (cat, i) {
        return h("tr", null, [h("th", { scope: "row", text: opts.label(cat) })].concat(series.map(function (sr) {
          return h("td", { text: opts.valueFormat ? opts.valueFormat(sr.values[i]) : String(sr.values[i]) });
        })));
      }))
    ]);
    var wrapper = h("div", { class: "visually-hidden" }, table);
    container.appendChild(wrapper);
    return wrapper;
  }

  function tooltipLayer(svgEl) {
    var g = s("g", { class: "lc-tip", visibility: "hidden", "pointer-events": "none" });
    var bg = s("rect", { rx: 6, ry: 6, fill: "#14213d", opacity: 0.92 });
    var text = s("text", { "font-size": 12, fill: "#ffffff" });
    g.appendChild(bg);
    g.appendChild(text);
    svgEl.appendChild(g);
    return {
      show: function (x, y, lines, bounds) {
        clear(text);
        lines.forEach(function (line, i) {
          text.appendChild(s("tspan", { x: 10, dy: i === 0 ? 18 : 16, text: line }));
        });
        var longest = lines.reduce(function (m, l) { return Math.max(m, l.length); }, 0);
        var w = 20 + longest * 6.6;
        var hgt = 12 + lines.length * 16;
        bg.setAttribute("width", w);
        bg.setAttribute("height", hgt);
        var tx = clamp(x - w / 2, 0, bounds.width - w);
        var ty = clamp(y - hgt - 10, 0, bounds.height - hgt);
        g.setAttribute("transform", "translate(" + tx + "," + ty + ")");
        g.setAttribute("visibility", "visible");
      },
      hide: function () {
        g.setAttribute("visibility", "hidden");
      }
    };
  }

  function pointerX(svgEl, event, width) {
    var rect = svgEl.getBoundingClientRect();
    if (rect.width === 0) {
      return 0;
    }
    return ((event.clientX - rect.left) / rect.width) * width;
  }

  // Grouped bars: one group per category, one bar per series.
  function barChart(container, config) {
    var opts = extend({}, DEFAULTS, config);
    opts.margin = extend({}, DEFAULTS.margin, config.margin);
    var categories = opts.categories;
    var series = opts.series;
    var innerWidth = opts.width - opts.margin.left - opts.margin.right;
    var innerHeight = opts.height - opts.margin.top - opts.margin.bottom;
    var all = [0];
    series.forEach(function (sr) {
      all = all.concat(sr.values);
    });
    var ext = extent(all);
    var y = linearScale([Math.min(0, ext[0]), ext[1]], [innerHeight, 0]).nice(opts.ticks);
    var x = bandScale(categories, [0, innerWidth], opts.padding);
    var inner = bandScale(series.map(function (sr, i) { return i; }), [0, x.bandwidth()], 0.1);
    var svgEl = chartFrame(container, opts);
    drawYAxis(svgEl, y, opts, innerWidth);
    var plot = s("g", { class: "lc-plot", transform: "translate(" + opts.margin.left + "," + opts.margin.top + ")" });
    series.forEach(function (sr, si) {
      var g = s("g", { class: "lc-series lc-series-" + si, fill: sr.color || PALETTE[si % PALETTE.length] });
      sr.values.forEach(function (v, ci) {
        var y0 = y(0);
        var y1 = y(v);
        g.appendChild(s("rect", {
          x: x(categories[ci]) + inner(si),
          y: Math.min(y0, y1),
          width: Math.max(1, inner.bandwidth()),
          height: Math.max(0.5, Math.abs(y1 - y0)),
          rx: 2
        }));
      });
      plot.appendChild(g);
    });
    svgEl.appendChild(plot);
    drawXAxis(svgEl, x, categories, opts, innerHeight);
    var tip = tooltipLayer(svgEl);
    var highlight = s("rect", { class: "lc-hover", fill: "#0f766e", opacity: 0, "pointer-events": "none" });
    plot.insertBefore(highlight, plot.firstChild);
    function onMove(event) {
      var px = pointerX(svgEl, event, opts.width) - opts.margin.left;
      var cat = x.keyAt(px);
      if (cat === undefined) {
        return;
      }
      var ci = categories.indexOf(cat);
      highlight.setAttribute("x", x(cat) - x.step() * opts.padding / 2);
      highlight.setAttribute("y", 0);
      highlight.setAttribute("width", x.step());
      highlight.setAttribute("height", innerHeight);
      highlight.setAttribute("opacity", 0.06);
      var lines = [opts.label(cat, true)].concat(series.map(function (sr) {
        return sr.name + ": " + (opts.valueFormat || opts.format)(sr.values[ci]);
      }));
      tip.show(opts.margin.left + x(cat) + x.bandwidth() / 2, opts.margin.top + y(extent(series.map(function (sr) { return sr.values[ci]; }))[1]), lines, opts);
    }
    function onLeave() {
      tip.hide();
      highlight.setAttribute("opacity", 0);
    }
    svgEl.addEventListener("pointermove", throttle(onMove, 30));
    svgEl.addEventListener("pointerleave", onLeave);
    if (opts.table) {
      dataTable(container, categories, series, opts);
    }
    return {
      svg: svgEl,
      destroy: function () {
        svgEl.removeEventListener("pointerleave", onLeave);
        clear(container);
      }
    };
  }

  function linePath(points) {
    return points.map(function (p, i) {
      return (i === 0 ? "M" : "L") + p[0].toFixed(2) + "," + p[1].toFixed(2);
    }).join("");
  }

  // Smooth monotone curve (Fritsch–Carlson), so a cash line never overshoots.
  function monotonePath(points) {
    var n = points.length;
    if (n < 3) {
      return linePath(points);
    }
    var dx = [];
    var slope = [];
    for (var i = 0; i < n - 1; i++) {
      dx.push(points[i + 1][0] - points[i][0]);
      slope.push((points[i + 1][1] - points[i][1]) / (dx[i] || 1));
    }
    var tangent = [slope[0]];
    for (var j = 1; j < n - 1; j++) {
      tangent.push(slope[j - 1] * slope[j] <= 0 ? 0 : (slope[j - 1] + slope[j]) / 2);
    }
    tangent.push(slope[n - 2]);
    for (var k = 0; k < n - 1; k++) {
      if (slope[k] === 0) {
        tangent[k] = 0;
        tangent[k + 1] = 0;
        continue;
      }
      var a = tangent[k] / slope[k];
      var b = tangent[k + 1] / slope[k];
      var sq = a * a + b * b;
      if (sq > 9) {
        var t = 3 / Math.sqrt(sq);
        tangent[k] = t * a * slope[k];
        tangent[k + 1] = t * b * slope[k];
      }
    }
    var d = "M" + points[0][0].toFixed(2) + "," + points[0][1].toFixed(2);
    for (var m = 0; m < n - 1; m++) {
      var h3 = dx[m] / 3;
      d += "C" + (points[m][0] + h3).toFixed(2) + "," + (points[m][1] + h3 * tangent[m]).toFixed(2) +
        "," + (points[m + 1][0] - h3).toFixed(2) + "," + (points[m + 1][1] - h3 * tangent[m + 1]).toFixed(2) +
        "," + points[m + 1][0].toFixed(2) + "," + points[m + 1][1].toFixed(2);
    }
    return d;
  }

  function lineChart(container, config) {
    var opts = extend({}, DEFAULTS, config);
    opts.margin = extend({}, DEFAULTS.margin, config.margin);
    var categories = opts.categories;
    var series = opts.series;
    var innerWidth = opts.width - opts.margin.left - opts.margin.right;
    var innerHeight = opts.height - opts.margin.top - opts.margin.bottom;
    var all = [0];
    series.forEach(function (sr) {
      all = all.concat(sr.values);
    });
    var ext = extent(all);
    var y = linearScale([Math.min(0, ext[0]), ext[1]], [innerHeight, 0]).nice(opts.ticks);
    var x = bandScale(categories, [0, innerWidth], 0);
    var svgEl = chartFrame(container, opts);
    drawYAxis(svgEl, y, opts, innerWidth);
    var plot = s("g", { class: "lc-plot", transform: "translate(" + opts.margin.left + "," + opts.margin.top + ")" });
    series.forEach(function (sr, si) {
      var color = sr.color || PALETTE[si % PALETTE.length];
      var points = sr.values.map(function (v, i) {
        return [x(categories[i]) + x.bandwidth() / 2, y(v)];
      });
      if (sr.area) {
        var base = y(0);
        var areaD = monotonePath(points) + "L" + points[points.length - 1][0].toFixed(2) + "," + base.toFixed(2) +
          "L" + points[0][0].toFixed(2) + "," + base.toFixed(2) + "Z";
        plot.appendChild(s("path", { d: areaD, fill: color, opacity: 0.12 }));
      }
      plot.appendChild(s("path", {
        class: "lc-line lc-series-" + si,
        d: opts.smooth === false ? linePath(points) : monotonePath(points),
        fill: "none",
        stroke: color,
        "stroke-width": 2.5,
        "stroke-linejoin": "round",
        "stroke-linecap": "round"
      }));
    });
    svgEl.appendChild(plot);
    drawXAxis(svgEl, x, categories, opts, innerHeight);
    var tip = tooltipLayer(svgEl);
    var guide = s("line", { y1: 0, y2: innerHeight, stroke: "#94a3b8", "stroke-dasharray": "3 3", visibility: "hidden" });
    plot.appendChild(guide);
    svgEl.addEventListener("pointermove", throttle(function (event) {
      var px = pointerX(svgEl, event, opts.width) - opts.margin.left;
      var cat = x.keyAt(px);
      if (cat === undefined) {
        return;
      }
      var ci = categories.indexOf(cat);
      var cx = x(cat) + x.bandwidth() / 2;
      guide.setAttribute("x1", cx);
      guide.setAttribute("x2", cx);
      guide.setAttribute("visibility", "visible");
      tip.show(opts.margin.left + cx, opts.margin.top + y(series[0].values[ci]), [opts.label(cat, true)].concat(series.map(function (sr) {
        return sr.name + ": " + (opts.valueFormat || opts.format)(sr.values[ci]);
      })), opts);
    }, 30));
    svgEl.addEventListener("pointerleave", function () {
      tip.hide();
      guide.setAttribute("visibility", "hidden");
    });
    if (opts.table) {
      dataTable(container, categories, series, opts);
    }
    return { svg: svgEl, destroy: function () { clear(container); } };
  }

  function arcPath(cx, cy, r, inner, a0, a1) {
    var large = a1 - a0 > Math.PI ? 1 : 0;
    function pt(radius, angle) {
      return (cx + radius * Math.sin(angle)).toFixed(2) + "," + (cy - radius * Math.cos(angle)).toFixed(2);
    }
    return "M" + pt(r, a0) + "A" + r + "," + r + " 0 " + large + " 1 " + pt(r, a1) +
      "L" + pt(inner, a1) + "A" + inner + "," + inner + " 0 " + large + " 0 " + pt(inner, a0) + "Z";
  }

  function donutChart(container, config) {
    var opts = extend({}, DEFAULTS, { width: 320, height: 320 }, config);
    var items = opts.items.filter(function (it) { return it.value > 0; });
    var total = sumBy(items, function (it) { return it.value; });
    var svgEl = chartFrame(container, opts);
    var cx = opts.width / 2;
    var cy = opts.height / 2;
    var r = Math.min(cx, cy) - 8;
    var inner = r * 0.62;
    var angle = 0;
    var g = s("g", { class: "lc-donut" });
    items.forEach(function (it, i) {
      var sweep = total === 0 ? 0 : (it.value / total) * Math.PI * 2;
      var end = Math.min(angle + sweep, Math.PI * 2 - 1e-6);
      g.appendChild(s("path", { d: arcPath(cx, cy, r, inner, angle, end), fill: it.color || PALETTE[i % PALETTE.length] }, [
        s("title", { text: it.label + ": " + (opts.valueFormat || opts.format)(it.value) })
      ]));
      angle += sweep;
    });
    svgEl.appendChild(g);
    svgEl.appendChild(s("text", { x: cx, y: cy, "text-anchor": "middle", dy: "0.35em", "font-size": 20, "font-weight": 700, fill: "#14213d", text: (opts.valueFormat || opts.format)(total) }));
    if (opts.table) {
      dataTable(container, items.map(function (it) { return it.label; }), [{ name: "Value", values: items.map(function (it) { return it.value; }) }], opts);
    }
    return { svg: svgEl, destroy: function () { clear(container); } };
  }

  // Tiny sparkline for table cells and cards.
  function sparkline(values, options) {
    options = options || {};
    var width = options.width || 120;
    var height = options.height || 28;
    var ext = extent(values);
    var y = linearScale(ext, [height - 2, 2]);
    var step = values.length > 1 ? width / (values.length - 1) : 0;
    var points = values.map(function (v, i) { return [i * step, y(v)]; });
    return s("svg", { class: "lc-spark", viewBox: "0 0 " + width + " " + height, width: width, height: height, "aria-hidden": "true" }, [
      s("path", { d: linePath(points), fill: "none", stroke: options.color || PALETTE[0], "stroke-width": 1.5 })
    ]);
  }

  function autoResize(container, render) {
    var handle = render();
    if (typeof ResizeObserver === "undefined") {
      return handle;
    }
    var lastWidth = container.clientWidth;
    var ro = new ResizeObserver(debounce(function () {
      if (Math.abs(container.clientWidth - lastWidth) > 40) {
        lastWidth = container.clientWidth;
        handle.destroy();
        handle = render();
      }
    }, 150));
    ro.observe(container);
    return {
      get svg() { return handle.svg; },
      destroy: function () {
        ro.disconnect();
        handle.destroy();
      }
    };
  }

  var charts = {
    PALETTE: PALETTE,
    bar: barChart,
    line: lineChart,
    donut: donutChart,
    sparkline: sparkline,
    autoResize: autoResize,
    paths: { line: linePath, monotone: monotonePath, arc: arcPath }
  };
