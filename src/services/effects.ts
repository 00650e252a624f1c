import type { NotificationRow } from "../db/notifications";
import type { OutboxRecord } from "../db/outbox";
import type { QueueMessage } from "../queues/messages";

/**
 * What a flow decided besides the D1 batch it committed: outbox events for the
 * tenant's hub, notifications for the notifier, messages for the queues. A flow
 * returns them; exactly one caller per entry point delivers them (src/delivery.ts):
 * the route through `waitUntil`, the queue consumer, the Durable Object for a
 * terminal's command, the cron pass. Everything here is already stored or can be
 * made again by the cron pass, so a delivery that fails loses nothing.
 */
export interface Effects {
  /** The tenant whose hub takes `events`; null while there are none. */
  readonly tenant: TenantRef | null;
  readonly events: readonly OutboxRecord[];
  readonly notifications: readonly NotificationRow[];
  readonly messages: readonly QueueMessage[];
}

/** Enough of a tenant to address its hub. */
export interface TenantRef {
  readonly id: string;
  readonly slug: string;
}

export const NO_EFFECTS: Effects = { tenant: null, events: [], notifications: [], messages: [] };

/** The effects of one tenant's flow. */
export function effectsOf(
  tenant: TenantRef,
  parts: {
    events?: readonly OutboxRecord[];
    notifications?: readonly NotificationRow[];
    messages?: readonly QueueMessage[];
  },
): Effects {
  return {
    tenant: { id: tenant.id, slug: tenant.slug },
    events: parts.events ?? [],
    notifications: parts.notifications ?? [],
    messages: parts.messages ?? [],
  };
}

/** Several steps' effects as one; they must all be one tenant's. */
export function combine(...all: Effects[]): Effects {
  let tenant: TenantRef | null = null;
  for (const part of all) {
    if (!part.tenant) continue;
    if (tenant && tenant.id !== part.tenant.id) {
      throw new Error("effects of two tenants cannot be combined");
    }
    tenant = part.tenant;
  }
  return {
    tenant,
    events: all.flatMap((e) => e.events),
    notifications: all.flatMap((e) => e.notifications),
    messages: all.flatMap((e) => e.messages),
  };
}

/** Whether there is anything to deliver. */
export function isEmpty(effects: Effects): boolean {
  return (
    effects.events.length === 0 &&
    effects.notifications.length === 0 &&
    effects.messages.length === 0
  );
}
