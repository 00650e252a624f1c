import { and, asc, eq, inArray } from "drizzle-orm";
import type { Db } from "./client";
import type { MenuItemWithModifiers } from "./menu";
import type { OrderWithItems } from "./orders";
import type { PosIntegrationRow } from "./pos-integrations";
import {
  menuItems,
  menuModifiers,
  orderItems,
  orders,
  posIntegrations,
  tenants,
  webhookEvents,
} from "./schema";
import type { Tenant } from "./tenants";

/**
 * What a flow about one order reads before it decides, in one D1 round trip
 * (`db.batch` sends its statements in one call:
 * https://developers.cloudflare.com/d1/worker-api/d1-database/#batch).
 * Every statement is scoped to the tenant the message or event names.
 */
export interface OrderContext {
  tenant: Tenant | undefined;
  order: OrderWithItems | undefined;
  integration: PosIntegrationRow | undefined;
}

// Each statement is a `findMany` limited to one row: drizzle's `findFirst` inside
// `db.batch` maps a missing row as a row and throws (drizzle-orm 0.45, d1/session
// mapGetResult), so the batch reads lists and takes their first entry.
function contextStatements(db: Db, tenantId: string, orderId: string) {
  return [
    db.query.tenants.findMany({ where: eq(tenants.id, tenantId), limit: 1 }),
    db.query.orders.findMany({
      where: and(eq(orders.tenantId, tenantId), eq(orders.id, orderId)),
      with: { items: { orderBy: [asc(orderItems.position)] } },
      limit: 1,
    }),
    db.query.posIntegrations.findMany({ where: eq(posIntegrations.tenantId, tenantId), limit: 1 }),
  ] as const;
}

/** An order and its tenant's POS integration, for a flow whose caller has the tenant. */
export async function findOrderAndIntegration(
  db: Db,
  tenantId: string,
  orderId: string,
): Promise<Omit<OrderContext, "tenant">> {
  const [, [order], [integration]] = await db.batch(contextStatements(db, tenantId, orderId));
  return { order, integration };
}

/** A payment event's context: whether the event was seen, its tenant, order and POS integration. */
export async function findPaymentEventContext(
  db: Db,
  event: { provider: string; eventId: string },
  tenantId: string,
  orderId: string,
): Promise<OrderContext & { seen: boolean }> {
  const [seen, tenant, order, integration] = await db.batch([
    db.query.webhookEvents.findMany({
      where: and(
        eq(webhookEvents.provider, event.provider),
        eq(webhookEvents.eventId, event.eventId),
      ),
      limit: 1,
    }),
    ...contextStatements(db, tenantId, orderId),
  ]);
  return { seen: seen.length > 0, tenant: tenant[0], order: order[0], integration: integration[0] };
}

/**
 * A POS submission's context: the tenant, order, integration and the menu
 * entries the order's lines name (for the vendor's ids), found through the
 * order's own lines.
 */
export async function findSubmissionContext(
  db: Db,
  tenantId: string,
  orderId: string,
): Promise<OrderContext & { menu: MenuItemWithModifiers[] }> {
  const lines = db
    .select({ id: orderItems.menuItemId })
    .from(orderItems)
    .where(and(eq(orderItems.tenantId, tenantId), eq(orderItems.orderId, orderId)));
  const [tenant, order, integration, menu] = await db.batch([
    ...contextStatements(db, tenantId, orderId),
    db.query.menuItems.findMany({
      where: and(eq(menuItems.tenantId, tenantId), inArray(menuItems.id, lines)),
      with: { modifiers: { orderBy: [asc(menuModifiers.position)] } },
    }),
  ]);
  return { tenant: tenant[0], order: order[0], integration: integration[0], menu };
}
