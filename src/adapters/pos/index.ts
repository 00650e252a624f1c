import { cloverAdapter } from "./clover";
import { sandboxAdapter } from "./sandbox";
import { squareAdapter } from "./square";
import { toastAdapter } from "./toast";
import type { PosAdapter, PosProvider } from "./types";
import { webhookAdapter } from "./webhook";

const ADAPTERS: Record<PosProvider, PosAdapter> = {
  toast: toastAdapter,
  clover: cloverAdapter,
  square: squareAdapter,
  webhook: webhookAdapter,
  sandbox: sandboxAdapter,
};

/** The adapter for a provider. */
export function getPosAdapter(provider: PosProvider): PosAdapter {
  const adapter = ADAPTERS[provider];
  if (!adapter) throw new Error(`no POS adapter for ${provider}`);
  return adapter;
}
