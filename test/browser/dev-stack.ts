import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { getFreePort, startDevServer } from "../../tools/dev-server.mjs";

/** A running `wrangler dev` for one browser test file. */
export interface DevStack {
  url: string;
  /** Stops the server and removes its state; safe to call once whatever happened. */
  stop(): Promise<void>;
}

/**
 * Starts `wrangler dev` on a free port with a throw-away state directory and explicit secrets
 * (so a run neither depends on nor is overridden by a `.dev.vars`); payments are off unless
 * `vars` say otherwise.
 */
export async function startDevStack(
  name: string,
  vars: Record<string, string> & { ADMIN_TOKEN: string },
): Promise<DevStack> {
  const persistDir = await mkdtemp(path.join(tmpdir(), `orderlane-${name}-`));
  try {
    const server = await startDevServer({
      port: await getFreePort(),
      persistTo: persistDir,
      vars: {
        CREDENTIALS_KEY: randomBytes(32).toString("base64"),
        STRIPE_WEBHOOK_SECRET: `whsec_${name}_local_secret`,
        STRIPE_SECRET_KEY: "",
        ...vars,
      },
    });
    return {
      url: server.url,
      async stop() {
        try {
          await server.stop();
        } finally {
          await rm(persistDir, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    await rm(persistDir, { recursive: true, force: true });
    throw err;
  }
}
