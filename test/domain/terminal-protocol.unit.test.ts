import { describe, expect, it } from "vitest";
import { PING_FRAME, parseTerminalMessage } from "../../src/domain/terminal-protocol";

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
