// The backend client: JSON in and out, the bearer token from sessionStorage,
// and the backend's error shape {"error": {"code", "message"}} turned into an
// ApiError whose message is safe to show to the user.

import { apiUrl } from "./config.1a53501da6.js";

const TOKEN_KEY = "ledgerly.token";
const USER_KEY = "ledgerly.user";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  get user() {
    try {
      return JSON.parse(sessionStorage.getItem(USER_KEY) || "null");
    } catch {
      return null;
    }
  },
  save(token, user) {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(USER_KEY, JSON.stringify(user ?? null));
  },
  saveUser(user) {
    sessionStorage.setItem(USER_KEY, JSON.stringify(user ?? null));
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(USER_KEY);
  },
};

// Called when an authenticated request answers 401 (expired or revoked token).
let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

export async function request(method, path, { body, query, signal } = {}) {
  const url = new URL(apiUrl() + path);
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
  }
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const token = session.token;
  if (token) headers.Authorization = `Bearer ${token}`;

  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      credentials: "omit",
    });
  } catch (err) {
    if (err && err.name === "AbortError") throw err;
    throw new ApiError(0, "network", `Could not reach the server at ${apiUrl()}. Check your connection and try again.`);
  }

  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (response.ok) return data;

  const error = data && typeof data === "object" && data.error && typeof data.error === "object" ? data.error : {};
  const message = typeof error.message === "string" && error.message
    ? error.message
    : `The server answered ${response.status} ${response.statusText || ""}`.trim() + ".";
  const apiError = new ApiError(response.status, typeof error.code === "string" ? error.code : "http_error", message);
  if (response.status === 401 && token) {
    session.clear();
    onUnauthorized(apiError);
  }
  throw apiError;
}

// List endpoints answer either a bare array or {"items": [...], "next_cursor"}.
export function itemsOf(data) {
  if (Array.isArray(data)) return { items: data, nextCursor: null };
  return { items: Array.isArray(data?.items) ? data.items : [], nextCursor: data?.next_cursor ?? null };
}

export const api = {
  signup: (email, password) => request("POST", "/auth/signup", { body: { email, password } }),
  login: (email, password) => request("POST", "/auth/login", { body: { email, password } }),
  me: () => request("GET", "/users/me"),
  accounts: () => request("GET", "/accounts").then(itemsOf),
  createAccount: (name, type) => request("POST", "/accounts", { body: { name, type } }),
  transactions: (query) => request("GET", "/transactions", { query }).then(itemsOf),
  createTransaction: (tx) => request("POST", "/transactions", { body: tx }),
  subscription: () => request("GET", "/billing/subscription"),
  checkout: () => request("POST", "/billing/checkout"),
  portal: () => request("POST", "/billing/portal"),
};
