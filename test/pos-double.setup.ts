import type { TestProject } from "vitest/node";
import clover from "../tools/pos-double/clover.mjs";
import { startPosDouble } from "../tools/pos-double/server.mjs";
import square from "../tools/pos-double/square.mjs";
import toast from "../tools/pos-double/toast.mjs";
import webhookReceiver from "../tools/pos-double/webhook-receiver.mjs";

// Starts the POS vendor double for the Worker tests (Node side); the Worker
// reaches it over loopback through the POS_*_BASE_URL bindings.
export default async function setup(project: TestProject) {
  const double = await startPosDouble({ vendors: [toast, clover, square, webhookReceiver] });
  project.provide("posDoubleUrl", double.url);
  return async () => {
    await double.stop();
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    posDoubleUrl: string;
  }
}
