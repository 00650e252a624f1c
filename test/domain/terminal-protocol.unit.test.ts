import { describe, expect, it } from "vitest";
import {
  commandRole,
  MAX_FRAME_BYTES,
  PING_FRAME,
  parseTerminalMessage,
} from "../../src/domain/terminal-protocol";

describe("parseTerminalMessage", () => {
  it.each([
    ['{"type":"ack","seq":42}', { type: "ack", seq: 42 }],
    ['{"type":"resume","after":0}', { type: "resume", after: 0 }],
    [
      '{"type":"set_status","orderId":"ord_1","status":"ready","requestId":"r1"}',
      { type: "set_status", orderId: "ord_1", status: "ready", requestId: "r1" },
    ],
    [
      '{"type":"set_status","orderId":"ord_1","status":"ready"}',
      { type: "set_status", orderId: "ord_1", status: "ready" },
    ],
    ['{"type":"ack_alert","alertId":"alr_1"}', { type: "ack_alert", alertId: "alr_1" }],
    [PING_FRAME, { type: "ping" }],
    ['{ "type" : "ping" }', { type: "ping" }],
  ])("accepts %s", (frame, message) => {
    expect(parseTerminalMessage(frame)).toEqual({ ok: true, message });
  });

  it.each([
    ["not json", "malformed_message"],
    ["", "malformed_message"],
    ["[]", "unknown_message_type"],
    ["null", "unknown_message_type"],
    ['{"seq":1}', "unknown_message_type"],
    ['{"type":"dance"}', "unknown_message_type"],
    ['{"type":"ack"}', "invalid_message"],
    ['{"type":"ack","seq":-1}', "invalid_message"],
    ['{"type":"ack","seq":1.5}', "invalid_message"],
    ['{"type":"resume","after":"3"}', "invalid_message"],
    ['{"type":"set_status","orderId":"o","status":"eaten"}', "invalid_message"],
    ['{"type":"set_status","orderId":"","status":"ready"}', "invalid_message"],
    ['{"type":"ack","seq":1,"extra":true}', "invalid_message"],
  ])("answers %s with an error %s", (frame, code) => {
    const result = parseTerminalMessage(frame);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.type).toBe("error");
      expect(result.error.code).toBe(code);
      expect(result.error.message.length).toBeGreaterThan(0);
    }
  });

  it("refuses binary frames", () => {
    const result = parseTerminalMessage(new ArrayBuffer(4));
    expect(result).toMatchObject({ ok: false, error: { code: "malformed_message" } });
  });
});

describe("bounded frames", () => {
  it("refuses a frame over 16 KiB unread, and never echoes it", () => {
    const frame = JSON.stringify({ type: "ack", seq: 1, pad: "z".repeat(MAX_FRAME_BYTES) });
    const result = parseTerminalMessage(frame);
    expect(result).toMatchObject({ ok: false, error: { code: "frame_too_large" } });
    expect(JSON.stringify(result)).not.toContain("zzz");
  });

  it("measures UTF-8 bytes, not characters", () => {
    // 6 000 three-byte characters: 18 000 bytes in 6 000 UTF-16 units.
    const frame = JSON.stringify({ type: "ping", pad: "€".repeat(6_000) });
    expect(parseTerminalMessage(frame)).toMatchObject({ error: { code: "frame_too_large" } });
    const small = JSON.stringify({ type: "ack", seq: 1 });
    expect(parseTerminalMessage(small).ok).toBe(true);
  });

  it("quotes at most 100 characters of an unknown type or key", () => {
    const long = "q".repeat(3_000);
    for (const frame of [
      JSON.stringify({ type: long }),
      JSON.stringify({ type: "ack", seq: 1, [long]: 1 }),
    ]) {
      const text = JSON.stringify(parseTerminalMessage(frame));
      expect(text).not.toContain("q".repeat(101));
      expect(text).toContain("q".repeat(100));
    }
  });
});

describe("commandRole", () => {
  it.each([
    [{ type: "ack", seq: 1 }, "terminal"],
    [{ type: "resume", after: 0 }, "terminal"],
    [{ type: "ping" }, "terminal"],
    [{ type: "ack_alert", alertId: "a" }, "terminal"],
    [{ type: "set_status", orderId: "o", status: "ready" }, "terminal"],
    [{ type: "set_status", orderId: "o", status: "completed" }, "terminal"],
    [{ type: "set_status", orderId: "o", status: "cancelled" }, "staff"],
  ] as const)("%j needs %s", (message, role) => {
    expect(commandRole(message)).toBe(role);
  });
});
