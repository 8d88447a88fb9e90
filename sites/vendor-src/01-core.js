  // ---------------------------------------------------------------------------
  // core: small helpers shared by every other part of the kit
  // ---------------------------------------------------------------------------

  var hasOwn = Object.prototype.hasOwnProperty;
  var toString = Object.prototype.toString;

  function KitError(code, message) {
    var err = new Error(message);
    err.name = "KitError";
    err.code = code;
    return err;
  }

  function assert(condition, code, message) {
    if (!condition) {
      throw KitError(code, message || code);
    }
  }

  function isObject(value) {
    return value !== null && typeof value === "object";
  }

  function isPlainObject(value) {
    if (!isObject(value) || toString.call(value) !== "[object Object]") {
      return false;
    }
    var proto = Object.getPrototypeOf(value);
    return proto === null || proto === Object.prototype;
  }

  function isSafeInteger(value) {
    return typeof value === "number" && Number.isSafeInteger(value);
  }

  function clamp(value, min, max) {
    return value < min ? min : value > max ? max : value;
  }

  function identity(value) {
    return value;
  }

  function noop() {}

  function range(start, stop, step) {
    if (stop === undefined) {
      stop = start;
      start = 0;
    }
    step = step || 1;
    var out = [];
    var n = Math.max(0, Math.ceil((stop - start) / step));
    for (var i = 0; i < n; i++) {
      out.push(start + i * step);
    }
    return out;
  }

  function extend(target) {
    for (var i = 1; i < arguments.length; i++) {
      var source = arguments[i];
      if (!source) {
        continue;
      }
      for (var key in source) {
        if (hasOwn.call(source, key)) {
          target[key] = source[key];
        }
      }
    }
    return target;
  }

  function deepFreeze(value) {
    if (isObject(value) && !Object.isFrozen(value)) {
      Object.freeze(value);
      Object.keys(value).forEach(function (key) {
        deepFreeze(value[key]);
      });
    }
    return value;
  }

  function memoize(fn, keyFn) {
    var cache = new Map();
    keyFn = keyFn || function (a) { return a; };
    function memoized() {
      var key = keyFn.apply(null, arguments);
      if (cache.has(key)) {
        return cache.get(key);
      }
      var result = fn.apply(this, arguments);
      cache.set(key, result);
      return result;
    }
    memoized.clear = function () {
      cache.clear();
    };
    return memoized;
  }

  function debounce(fn, wait) {
    var timer = null;
    function debounced() {
      var self = this;
      var args = arguments;
      if (timer !== null) {
        clearTimeout(timer);
      }
      timer = setTimeout(function () {
        timer = null;
        fn.apply(self, args);
      }, wait);
    }
    debounced.cancel = function () {
      if (timer !== null) {
        clearTimeout(timer);
        timer = null;
      }
    };
    return debounced;
  }

  function throttle(fn, wait) {
    var last = 0;
    var pending = null;
    return function throttled() {
      var self = this;
      var args = arguments;
      var now = Date.now();
      var remaining = wait - (now - last);
      if (remaining <= 0) {
        last = now;
        fn.apply(self, args);
      } else if (pending === null) {
        pending = setTimeout(function () {
          pending = null;
          last = Date.now();
          fn.apply(self, args);
        }, remaining);
      }
    };
  }

  function groupBy(items, keyFn) {
    var groups = new Map();
    items.forEach(function (item, index) {
      var key = keyFn(item, index);
      var list = groups.get(key);
      if (!list) {
        list = [];
        groups.set(key, list);
      }
      list.push(item);
    });
    return groups;
  }

  function sumBy(items, valueFn) {
    var total = 0;
    for (var i = 0; i < items.length; i++) {
      total += valueFn(items[i], i);
    }
    return total;
  }

  function extent(values) {
    var min = Infinity;
    var max = -Infinity;
    for (var i = 0; i < values.length; i++) {
      var v = values[i];
      if (v < min) { min = v; }
      if (v > max) { max = v; }
    }
    return min === Infinity ? [0, 0] : [min, max];
  }

  function bisectLeft(sorted, value, accessor) {
    accessor = accessor || identity;
    var lo = 0;
    var hi = sorted.length;
    while (lo < hi) {
      var mid = (lo + hi) >>> 1;
      if (accessor(sorted[mid]) < value) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  // A seeded generator (mulberry32) so demo data and jitter are reproducible.
  function seededRandom(seed) {
    var state = seed >>> 0;
    return function next() {
      state = (state + 0x6d2b79f5) >>> 0;
      var t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  function Emitter() {
    this._handlers = Object.create(null);
  }

  Emitter.prototype.on = function (type, handler) {
    var list = this._handlers[type] || (this._handlers[type] = []);
    list.push(handler);
    var self = this;
    return function off() {
      self.off(type, handler);
    };
  };

  Emitter.prototype.off = function (type, handler) {
    var list = this._handlers[type];
    if (!list) {
      return;
    }
    var index = list.indexOf(handler);
    if (index !== -1) {
      list.splice(index, 1);
    }
  };

  Emitter.prototype.emit = function (type, payload) {
    var list = this._handlers[type];
    if (!list) {
      return 0;
    }
    list.slice().forEach(function (handler) {
      handler(payload);
    });
    return list.length;
  };

  // DOM builders. Attributes are set one by one and text goes through
  // textContent, so nothing here ever parses HTML; "style" is refused because
  // the sites run under a CSP without 'unsafe-inline'.
  var SVG_NS = "http://www.w3.org/2000/svg";

  function applyAttributes(el, attrs) {
    if (!attrs) {
      return el;
    }
    Object.keys(attrs).forEach(function (name) {
      var value = attrs[name];
      if (value === undefined || value === null || value === false) {
        return;
      }
      assert(name !== "style", "style_attribute", "inline styles are blocked by the CSP; use a class");
      assert(name.slice(0, 2) !== "on", "inline_handler", "inline handlers are blocked by the CSP");
      if (name === "text") {
        el.textContent = String(value);
      } else if (name === "class" && Array.isArray(value)) {
        el.setAttribute("class", value.filter(Boolean).join(" "));
      } else {
        el.setAttribute(name, value === true ? "" : String(value));
      }
    });
    return el;
  }

  function appendChildren(el, children) {
    (Array.isArray(children) ? children : [children]).forEach(function (child) {
      if (child === undefined || child === null || child === false) {
        return;
      }
      if (Array.isArray(child)) {
        appendChildren(el, child);
      } else if (typeof child === "object" && child.nodeType) {
        el.appendChild(child);
      } else {
        el.appendChild(el.ownerDocument.createTextNode(String(child)));
      }
    });
    return el;
  }

  function h(tag, attrs, children) {
    var el = document.createElement(tag);
    applyAttributes(el, attrs);
    return children === undefined ? el : appendChildren(el, children);
  }

  function s(tag, attrs, children) {
    var el = document.createElementNS(SVG_NS, tag);
    applyAttributes(el, attrs);
    return children === undefined ? el : appendChildren(el, children);
  }

  function clear(el) {
    while (el.firstChild) {
      el.removeChild(el.firstChild);
    }
    return el;
  }

  function ready(fn) {
    if (typeof document === "undefined") {
      return;
    }
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", fn, { once: true });
    } else {
      fn();
    }
  }

  var uid = (function () {
    var counter = 0;
    return function (prefix) {
      counter += 1;
      return (prefix || "lk") + "-" + counter.toString(36);
    };
  })();

  var core = {
    KitError: KitError,
    assert: assert,
    isObject: isObject,
    isPlainObject: isPlainObject,
    isSafeInteger: isSafeInteger,
    clamp: clamp,
    identity: identity,
    noop: noop,
    range: range,
    extend: extend,
    deepFreeze: deepFreeze,
    memoize: memoize,
    debounce: debounce,
    throttle: throttle,
    groupBy: groupBy,
    sumBy: sumBy,
    extent: extent,
    bisectLeft: bisectLeft,
    seededRandom: seededRandom,
    Emitter: Emitter,
    h: h,
    s: s,
    clear: clear,
    ready: ready,
    uid: uid
  };
