import { describe, expect, it } from "vitest";
import { sessionRefreshAt } from "../../src/domain/pos-session";

const NOW = new Date("2026-12-03T12:00:00.000Z");
const inHours = (h: number) => new Date(NOW.getTime() + h * 3_600_000).toISOString();
const session = (expiresAt: string | null, refreshToken: string | null = "r") => ({
  accessToken: "a",
  expiresAt,
  refreshToken,
});

describe("sessionRefreshAt", () => {
  it("renews halfway through a short life (Clover's access tokens)", () => {
    expect(sessionRefreshAt(session(inHours(2)), NOW)).toBe(inHours(1));
  });

  it("renews a long-lived token (Square's 30 days) within a week", () => {
    expect(sessionRefreshAt(session(inHours(30 * 24)), NOW)).toBe(inHours(7 * 24));
  });

  it("renews at once a token already expired", () => {
    expect(sessionRefreshAt(session(inHours(-1)), NOW)).toBe(NOW.toISOString());
  });

  it("never renews what cannot be renewed or never expires", () => {
    expect(sessionRefreshAt(session(inHours(2), null), NOW)).toBeNull();
    expect(sessionRefreshAt(session(null), NOW)).toBeNull();
    expect(sessionRefreshAt(session("not a date"), NOW)).toBeNull();
  });
});
