// Billing as the app shows it, from the server's GET /billing/subscription (the server decides;
// this only words it). No DOM here, so node's test runner covers it (sites/tests).

const DAY_MS = 24 * 60 * 60 * 1000;

// `sub`: the /billing/subscription body, or null when billing is off on the server (404).
export function describeBilling(sub, now = Date.now()) {
  if (sub === null || typeof sub !== "object") {
    return {
      enabled: false, subscribed: true, status: "included", canWrite: true, trialActive: false,
      trialEndsOn: null, canSubscribe: false, canManage: false,
      summary: "Billing is turned off on this server: every account has full access.",
    };
  }
  const subscribed = sub.subscribed === true;
  const status = typeof sub.status === "string" && sub.status ? sub.status : subscribed ? "active" : "none";
  const trialEnds = typeof sub.trial_ends_at === "string" ? Date.parse(sub.trial_ends_at) : NaN;
  const trialActive = typeof sub.trial_active === "boolean" ? sub.trial_active : trialEnds > now;
  const canWrite = typeof sub.can_write === "boolean" ? sub.can_write : subscribed || trialActive;
  const trialEndsOn = Number.isNaN(trialEnds) ? null : new Date(trialEnds).toISOString().slice(0, 10);
  const daysLeft = Number.isNaN(trialEnds) ? 0 : Math.max(0, Math.ceil((trialEnds - now) / DAY_MS));
  let summary;
  if (subscribed) {
    summary = "Your subscription is active: everything is unlocked.";
  } else if (status === "past_due") {
    summary = "Your last payment failed. Update your payment method under Manage billing to keep adding and changing data.";
  } else if (trialActive) {
    summary = `Your free trial ends on ${trialEndsOn} (${daysLeft} ${daysLeft === 1 ? "day" : "days"} left). Subscribe to keep adding and changing data after that.`;
  } else {
    summary = "Your trial has ended. Subscribe to add or change data; you can still read and export everything.";
  }
  return {
    enabled: true, subscribed, status, canWrite, trialActive, trialEndsOn,
    canSubscribe: !subscribed, canManage: sub.has_billing_account === true, summary,
  };
}

// Polls `fetchSubscription` until it reports an active subscription (the webhook has landed)
// or `timeoutMs` passes. Resolves with the last body seen and whether it was active.
export async function waitForSubscription(fetchSubscription, {
  intervalMs = 1000, timeoutMs = 30000, sleep = (ms) => new Promise((r) => setTimeout(r, ms)),
  now = () => Date.now(), signal,
} = {}) {
  const deadline = now() + timeoutMs;
  let last = null;
  for (;;) {
    if (signal && signal.aborted) return { subscription: last, active: false };
    try {
      last = await fetchSubscription();
      if (last && last.subscribed === true) return { subscription: last, active: true };
    } catch (err) {
      if (err && err.name === "AbortError") return { subscription: last, active: false };
      // A transient error is another reason to ask again.
    }
    if (now() >= deadline) return { subscription: last, active: false };
    await sleep(intervalMs);
  }
}
