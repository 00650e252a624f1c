import { describe, expect, it } from "vitest";
import { canonicalJson, decryptJson, encryptJson, newId, randomToken } from "../src/crypto";

const key = crypto.getRandomValues(new Uint8Array(32));

describe("encryptJson / decryptJson", () => {
  it("round-trips and never shows the plaintext", async () => {
    const secret = { clientId: "abc", clientSecret: "s3cr3t-value" };
    const sealed = await encryptJson(key, "pos-credentials:ten_1", secret);
    expect(sealed).toMatch(/^v1\.[\w-]+\.[\w-]+$/);
    expect(sealed).not.toContain("s3cr3t");
    expect(await decryptJson(key, "pos-credentials:ten_1", sealed)).toEqual(secret);
  });

  it("uses a fresh IV each time", async () => {
    const a = await encryptJson(key, "c", { x: 1 });
    const b = await encryptJson(key, "c", { x: 1 });
    expect(a).not.toBe(b);
  });

  it("refuses another context, another key or a tampered ciphertext", async () => {
    const sealed = await encryptJson(key, "pos-credentials:ten_1", { x: 1 });
    await expect(decryptJson(key, "pos-credentials:ten_2", sealed)).rejects.toThrow();
    await expect(
      decryptJson(crypto.getRandomValues(new Uint8Array(32)), "pos-credentials:ten_1", sealed),
    ).rejects.toThrow();
    // The second-to-last character always carries ciphertext bits; it is swapped for another.
    const tampered = `${sealed.slice(0, -2)}${sealed.at(-2) === "A" ? "B" : "A"}${sealed.slice(-1)}`;
    await expect(decryptJson(key, "pos-credentials:ten_1", tampered)).rejects.toThrow();
    await expect(decryptJson(key, "pos-credentials:ten_1", "v2.x.y")).rejects.toThrow(
      "unknown ciphertext format",
    );
  });
});

describe("ids and tokens", () => {
  it("ids sort by creation time", () => {
    const a = newId("ord", 1_700_000_000_000);
    const b = newId("ord", 1_700_000_000_001);
    expect(a < b).toBe(true);
    expect(a).toMatch(/^ord_[0-9A-Z]{26}$/);
  });

  it("tokens are base62 of the asked length", () => {
    expect(randomToken(40)).toMatch(/^[0-9A-Za-z]{40}$/);
  });

  it("canonical JSON ignores key order and undefined", () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: undefined }] })).toBe('{"a":[{"d":2}],"b":1}');
  });
});
