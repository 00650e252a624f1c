import { and, asc, eq, inArray, isNull } from "drizzle-orm";
import type { Db } from "./client";
import { type DiscountRow, discountQuery } from "./discounts";
import type { IdempotencyRecord } from "./idempotency";
import { type MenuItemWithModifiers, menuItemsByIdsQuery, withModifiers } from "./menu";
import type { OrderWithItems } from "./orders";
import type { PosIntegrationRow } from "./pos-integrations";
import {
  apiKeys,
  idempotencyKeys,
  menuItems,
  menuModifiers,
  orderItems,
  orders,
  posIntegrations,
  tenants,
  webhookEvents,
} from "./schema";
import { type Tenant, tenantByIdQuery } from "./tenants";

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

/** The tenant, the order and the tenant's POS integration, in one round trip. */
export async function findOrderContext(
  db: Db,
  tenantId: string,
  orderId: string,
): Promise<OrderContext> {
  const [[tenant], [order], [integration]] = await db.batch(
    contextStatements(db, tenantId, orderId),
  );
  return { tenant, order, integration };
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
      with: withModifiers,
    }),
  ]);
  return { tenant: tenant[0], order: order[0], integration: integration[0], menu };
}

/**
 * What placing an order reads, in one round trip: the live tenant (by the id
 * its slug names), an earlier request with the same idempotency key, the menu
 * entries the draft names, the discount it names and the POS integration.
 */
export async function findPlacementContext(
  db: Db,
  tenantId: string,
  draft: {
    idempotencyKey: string;
    menuItemIds: readonly string[];
    discountCode?: string | undefined;
  },
): Promise<{
  tenant: Tenant | undefined;
  earlier: IdempotencyRecord | undefined;
  menu: MenuItemWithModifiers[];
  discount: DiscountRow | undefined;
  integration: PosIntegrationRow | undefined;
}> {
  const [tenant, earlier, menu, integration, discount] = await db.batch([
    tenantByIdQuery(db, tenantId),
    db.query.idempotencyKeys.findMany({
      where: and(
        eq(idempotencyKeys.tenantId, tenantId),
        eq(idempotencyKeys.key, draft.idempotencyKey),
      ),
      limit: 1,
    }),
    menuItemsByIdsQuery(db, tenantId, draft.menuItemIds),
    db.query.posIntegrations.findMany({ where: eq(posIntegrations.tenantId, tenantId), limit: 1 }),
    // Without a code this reads nothing (the empty code matches no discount).
    discountQuery(db, tenantId, draft.discountCode ?? ""),
  ]);
  return {
    tenant: tenant[0],
    earlier: earlier[0],
    menu,
    discount: draft.discountCode ? discount[0] : undefined,
    integration: integration[0],
  };
}

/**
 * A key's command on one order, in one round trip: its tenant as it is now
 * (live only), whether the key is still live, the order it names and the
 * tenant's POS integration. A terminal's commands (the hub) and a route whose
 * key check is part of its own read (`keyRouter(role, { keyCheckInRead })`)
 * use it.
 */
export async function findOrderForKey(
  db: Db,
  tenantId: string,
  keyId: string,
  orderId: string,
): Promise<{ keyLive: boolean } & OrderContext> {
  const [, order, integration] = contextStatements(db, tenantId, orderId);
  const [tenantRows, key, orderRows, integrationRows] = await db.batch([
    tenantByIdQuery(db, tenantId),
    db.query.apiKeys.findMany({
      columns: { id: true },
      where: and(eq(apiKeys.tenantId, tenantId), eq(apiKeys.id, keyId), isNull(apiKeys.revokedAt)),
      limit: 1,
    }),
    order,
    integration,
  ]);
  return {
    tenant: tenantRows[0],
    keyLive: key.length > 0,
    order: orderRows[0],
    integration: integrationRows[0],
  };
}
