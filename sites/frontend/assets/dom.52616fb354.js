// DOM helpers. Text always goes through textContent and attributes through
// setAttribute, so data from the API is never parsed as HTML. No inline
// styles or handlers: the CSP forbids them.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "style" || name.startsWith("on")) {
      throw new Error(`refusing inline ${name}: use classes and addEventListener`);
    }
    if (name === "text") {
      el.textContent = String(value);
    } else if (name === "class") {
      el.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : String(value);
    } else if (name === "dataset") {
      Object.assign(el.dataset, value);
    } else if (value === true) {
      el.setAttribute(name, "");
    } else {
      el.setAttribute(name, String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

// A status area announced by screen readers; `kind` is "error" or "info".
export function showMessage(region, text, kind = "error") {
  region.textContent = text || "";
  region.className = `message ${text ? kind : ""}`.trim();
  region.hidden = !text;
}
