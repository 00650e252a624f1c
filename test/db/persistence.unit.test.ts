import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const SRC = path.join(import.meta.dirname, "../../src");

/** Every TypeScript file of src/ outside src/db, with its text. */
function outsideDb(): { file: string; source: string }[] {
  return readdirSync(SRC, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts") && !f.startsWith(`db${path.sep}`) && !f.endsWith(".d.ts"))
    .map((file) => ({ file, source: readFileSync(path.join(SRC, file), "utf8") }));
}

describe("persistence has one home: src/db", () => {
  const files = outsideDb();

  it("reads the files it checks", () => {
    expect(files.map((f) => f.file)).toContain(path.join("services", "refunds.ts"));
  });

  it.each(files.map((f) => [f.file, f.source] as const))("%s writes no SQL", (_, source) => {
    // drizzle's query builders and the guarded insert are src/db's; types may be shared.
    expect(source).not.toMatch(/\bdb\s*\.\s*(?:insert|update|delete|select)\s*\(/);
    expect(source).not.toMatch(/\binsertIf\s*\(/);
    expect(source).not.toMatch(/^import \{(?!\s*type\b)[^}]*\} from "drizzle-orm/m);
    expect(source).not.toMatch(
      /from "\.\.\/db\/schema";/.source
        ? /^import \{(?![^}]*\btype\b)[^}]*\} from "\.\.\/db\/schema";/m
        : /$^/,
    );
  });
});
