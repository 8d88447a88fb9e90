// Runtime configuration. /runtime-config.js (served by marketing-server from
// PUBLIC_* environment variables) runs before this module and defines
// window.__RUNTIME_CONFIG__; the same static build then works everywhere.

export const DEFAULT_API_URL = "http://localhost:5000";

export function apiUrl(config = globalThis.__RUNTIME_CONFIG__) {
  const value = config && typeof config.API_URL === "string" ? config.API_URL.trim() : "";
  if (!/^https?:\/\/[^\s]+$/i.test(value)) {
    return DEFAULT_API_URL;
  }
  return value.replace(/\/+$/, "");
}
