import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const SRC = path.join(import.meta.dirname, "../../src");

/**
 * Writes that by design are not scoped by a tenant id: retention of expired rows, and the OAuth
 * callback using up its state, the single-use secret that is what names the tenant there (the
 * vendor's redirect carries nothing else of ours).
 */
const CROSS_TENANT = new Set([
  "pruneTerminalTickets",
  "pruneIdempotencyKeys",
  "pruneOAuthStates",
  "consumeOAuthState",
]);

/** The text of the balanced parenthesis group that opens at `start`. */
function group(source: string, start: number): string {
  let depth = 0;
  for (let i = start; i < source.length; i++) {
    if (source[i] === "(") depth += 1;
    else if (source[i] === ")") {
      depth -= 1;
      if (depth === 0) return source.slice(start, i + 1);
    }
  }
  throw new Error("unbalanced parentheses");
}

/** The exported or local function a position of the source is in. */
function enclosingFunction(source: string, at: number): string {
  const before = source.slice(0, at);
  const names = [...before.matchAll(/function\s+(\w+)/g)];
  return names.at(-1)?.[1] ?? "(top level)";
}

/** Every drizzle UPDATE and DELETE in src/ with its WHERE clause (null when it has none). */
function writes(): { file: string; fn: string; table: string; where: string | null }[] {
  const out: { file: string; fn: string; table: string; where: string | null }[] = [];
  // All of src/: SQL belongs in src/db, but a write that strays elsewhere is held to the rule too.
  const files = readdirSync(SRC, { recursive: true, encoding: "utf8" }).filter((f) =>
    f.endsWith(".ts"),
  );
  for (const file of files) {
    const source = readFileSync(path.join(SRC, file), "utf8");
    for (const match of source.matchAll(/\bdb\s*\.(update|delete)\((\w+)\)/g)) {
      const at = match.index ?? 0;
      // The chain goes on with `.set(…)` (an update) and then `.where(…)`.
      let rest = source.slice(at + match[0].length);
      const set = /^\s*\.set\(/.exec(rest);
      if (set) rest = rest.slice(set[0].length - 1 + group(rest, set[0].length - 1).length);
      const where = /^\s*\.where\(/.exec(rest);
      const clause = where ? group(rest, where[0].length - 1) : null;
      out.push({ file, fn: enclosingFunction(source, at), table: match[2] ?? "", where: clause });
    }
  }
  return out;
}

describe("every UPDATE and DELETE in src/db names its tenant", () => {
  const found = writes();

  it("finds the writes it checks", () => {
    expect(found.length).toBeGreaterThan(15);
  });

  it.each(found.map((w) => [`${w.file} ${w.fn} (${w.table})`, w] as const))("%s", (_, w) => {
    if (CROSS_TENANT.has(w.fn)) return;
    expect(w.where, "a write without a WHERE clause").not.toBeNull();
    // The tenant's own row, or any table's tenant column (directly or in a subquery it joins through).
    const scoped = w.table === "tenants" ? /tenants\.id\b|\btenantId\b/ : /\btenantId\b/;
    expect(w.where).toMatch(scoped);
  });
});
