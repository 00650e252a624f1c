import type { PosSession } from "../adapters/pos/types";

/** The longest a session goes unrenewed, whatever its lifetime. */
const MAX_UNRENEWED_MS = 7 * 24 * 3_600_000;

// Square: "Refresh the access token in a timely manner" (tokens last 30 days):
// https://developer.squareup.com/docs/oauth-api/receive-and-manage-tokens. Clover's access tokens
// are short-lived and their lifetime is in each answer ("do not hard code access and refresh token
// expirations"): https://docs.clover.com/docs/high-trust-app-auth-flow. So the renewal is set from
// the lifetime the vendor gave: halfway through it, and at most a week after it was issued.
/**
 * When the cron pass renews `session`, issued at `now`: null when it cannot be renewed (no
 * refresh token) or never expires.
 */
export function sessionRefreshAt(session: PosSession, now: Date): string | null {
  if (!session.refreshToken || !session.expiresAt) return null;
  const lifetime = Date.parse(session.expiresAt) - now.getTime();
  if (Number.isNaN(lifetime)) return null;
  const wait = Math.max(0, Math.min(lifetime / 2, MAX_UNRENEWED_MS));
  return new Date(now.getTime() + wait).toISOString();
}
