import { describe, expect, it } from "vitest";
import { availableAgainAt, isAvailableAt } from "../../src/domain/availability";

const NOW = new Date("2026-12-03T12:00:00.000Z");
const on = { available: true, availableAgainAt: null, posAvailable: true };

describe("isAvailableAt / availableAgainAt", () => {
  it("is on sale with both switches on", () => {
    expect(isAvailableAt(on, NOW)).toBe(true);
    expect(availableAgainAt(on, NOW)).toBeNull();
  });

  it("stays off after an 86 without an end", () => {
    const off = { ...on, available: false };
    expect(isAvailableAt(off, NOW)).toBe(false);
    expect(availableAgainAt(off, NOW)).toBeNull();
  });

  it("is off until the end of an 86 with an end, and on from that instant", () => {
    const off = { ...on, available: false, availableAgainAt: "2026-12-03T12:30:00.000Z" };
    expect(isAvailableAt(off, NOW)).toBe(false);
    expect(availableAgainAt(off, NOW)).toBe("2026-12-03T12:30:00.000Z");
    expect(isAvailableAt(off, new Date("2026-12-03T12:29:59.999Z"))).toBe(false);
    expect(isAvailableAt(off, new Date("2026-12-03T12:30:00.000Z"))).toBe(true);
  });

  it("is off while the POS says out of stock, whatever staff say", () => {
    const out = { ...on, posAvailable: false };
    expect(isAvailableAt(out, NOW)).toBe(false);
    expect(
      availableAgainAt({ ...out, available: false, availableAgainAt: "2026-12-03T13:00:00Z" }, NOW),
    ).toBeNull();
  });

  it("keeps an 86 with an unreadable end off", () => {
    expect(isAvailableAt({ ...on, available: false, availableAgainAt: "soon" }, NOW)).toBe(false);
  });
});
