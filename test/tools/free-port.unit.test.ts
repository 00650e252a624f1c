import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { getFreePort } from "../../tools/dev-server.mjs";

// getFreePort's ports must not be ones the OS hands out (its ephemeral range), and two vitest
// workers picking at once must not pick the same one: test files that start wranglers side by
// side lost their port to another wrangler's listener between picking and binding.

const RANGE_FILE = "/proc/sys/net/ipv4/ip_local_port_range";
const ephemeralStart = existsSync(RANGE_FILE)
  ? Number(readFileSync(RANGE_FILE, "utf8").trim().split(/\s+/)[0])
  : undefined;
const poolId = process.env.VITEST_POOL_ID;

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

describe.skipIf(ephemeralStart === undefined)("getFreePort on Linux", () => {
  const start = ephemeralStart ?? 0;
  const sliceSize = Math.floor((start - 10_000) / 16);
  const sliceOf = (port: number) => Math.floor((port - 10_000) / sliceSize);
  afterEach(() => {
    process.env.VITEST_POOL_ID = poolId;
  });

  it("gives a port below the ephemeral range that can be listened on", async () => {
    const port = await getFreePort();
    expect(port).toBeGreaterThanOrEqual(10_000);
    expect(port).toBeLessThan(start);
    const server = await listen(port);
    await new Promise((resolve) => server.close(resolve));
  });

  it("gives workers of different ids ports from different slices", async () => {
    const picked = new Map<number, number>();
    for (const id of [1, 2, 3, 4]) {
      process.env.VITEST_POOL_ID = String(id);
      picked.set(id, await getFreePort());
    }
    for (const [id, port] of picked) expect(sliceOf(port)).toBe(id % 16);
  });
});
