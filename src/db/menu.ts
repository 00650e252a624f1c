import { and, asc, eq, inArray } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { newId } from "../crypto";
import type { MenuItemForPricing } from "../domain/pricing";
import type { Db } from "./client";
import { menuItems, menuModifiers } from "./schema";

export type MenuItemRow = typeof menuItems.$inferSelect;
export type ModifierRow = typeof menuModifiers.$inferSelect;
export type MenuItemWithModifiers = MenuItemRow & { modifiers: ModifierRow[] };

export interface ModifierInput {
  id?: string | undefined;
  name: string;
  price: number;
  posModifierId?: string | null | undefined;
}

export interface MenuItemInput {
  name: string;
  description?: string | undefined;
  price: number;
  available?: boolean | undefined;
  posItemId?: string | null | undefined;
  modifiers?: ModifierInput[] | undefined;
}

export async function listMenuItems(
  db: Db,
  tenantId: string,
  options: { availableOnly: boolean },
): Promise<MenuItemWithModifiers[]> {
  return db.query.menuItems.findMany({
    where: options.availableOnly
      ? and(eq(menuItems.tenantId, tenantId), eq(menuItems.available, true))
      : eq(menuItems.tenantId, tenantId),
    with: { modifiers: { orderBy: [asc(menuModifiers.position)] } },
    orderBy: [asc(menuItems.createdAt), asc(menuItems.id)],
  });
}

export async function findMenuItem(
  db: Db,
  tenantId: string,
  id: string,
): Promise<MenuItemWithModifiers | undefined> {
  return db.query.menuItems.findFirst({
    where: and(eq(menuItems.tenantId, tenantId), eq(menuItems.id, id)),
    with: { modifiers: { orderBy: [asc(menuModifiers.position)] } },
  });
}

/** One statement per modifier: a multi-row insert would pass D1's 100-parameter limit. */
function modifierInserts(db: Db, tenantId: string, menuItemId: string, list: ModifierInput[]) {
  return list.map((m, position) =>
    db.insert(menuModifiers).values({
      id: m.id ?? newId("mod"),
      menuItemId,
      tenantId,
      name: m.name,
      price: m.price,
      posModifierId: m.posModifierId ?? null,
      position,
    }),
  );
}

export async function createMenuItem(
  db: Db,
  tenantId: string,
  input: MenuItemInput,
  now: Date,
): Promise<MenuItemWithModifiers> {
  const at = now.toISOString();
  const id = newId("itm");
  await db.batch([
    db.insert(menuItems).values({
      id,
      tenantId,
      name: input.name,
      description: input.description ?? "",
      price: input.price,
      available: input.available ?? true,
      posItemId: input.posItemId ?? null,
      createdAt: at,
      updatedAt: at,
    }),
    ...modifierInserts(db, tenantId, id, input.modifiers ?? []),
  ]);
  const created = await findMenuItem(db, tenantId, id);
  if (!created) throw new Error("menu item vanished after insert");
  return created;
}

/**
 * Applies a partial update; a given `modifiers` list replaces the item's
 * modifiers, keeping the ids of those passed with an id of this item.
 */
export async function updateMenuItem(
  db: Db,
  existing: MenuItemWithModifiers,
  patch: Partial<MenuItemInput>,
  now: Date,
): Promise<MenuItemWithModifiers> {
  const { modifiers, ...fields } = patch;
  const statements: BatchItem<"sqlite">[] = [
    db
      .update(menuItems)
      .set({ ...fields, updatedAt: now.toISOString() })
      .where(and(eq(menuItems.tenantId, existing.tenantId), eq(menuItems.id, existing.id))),
  ];
  if (modifiers) {
    statements.push(db.delete(menuModifiers).where(itemModifiers(existing.tenantId, existing.id)));
    statements.push(...modifierInserts(db, existing.tenantId, existing.id, modifiers));
  }
  await db.batch(statements as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
  const updated = await findMenuItem(db, existing.tenantId, existing.id);
  if (!updated) throw new Error("menu item vanished after update");
  return updated;
}

/** The modifiers of one item of one tenant: an item id alone must never reach another tenant's rows. */
function itemModifiers(tenantId: string, menuItemId: string) {
  return and(eq(menuModifiers.tenantId, tenantId), eq(menuModifiers.menuItemId, menuItemId));
}

export async function deleteMenuItem(db: Db, tenantId: string, id: string): Promise<boolean> {
  const [, deleted] = await db.batch([
    db.delete(menuModifiers).where(itemModifiers(tenantId, id)),
    db
      .delete(menuItems)
      .where(and(eq(menuItems.tenantId, tenantId), eq(menuItems.id, id)))
      .returning({ id: menuItems.id }),
  ]);
  return deleted.length === 1;
}

/** The tenant's menu items among `ids`, with their modifiers in order (a query, so it batches). */
export function menuItemsByIdsQuery(db: Db, tenantId: string, ids: readonly string[]) {
  return db.query.menuItems.findMany({
    where: and(eq(menuItems.tenantId, tenantId), inArray(menuItems.id, [...new Set(ids)])),
    with: { modifiers: { orderBy: [asc(menuModifiers.position)] } },
  });
}

async function findMenuItemsByIds(
  db: Db,
  tenantId: string,
  ids: readonly string[],
): Promise<MenuItemWithModifiers[]> {
  if (ids.length === 0) return [];
  return menuItemsByIdsQuery(db, tenantId, ids);
}

/** The menu entries an order draft names, keyed by id, in the pricing module's shape. */
export async function loadMenuForPricing(
  db: Db,
  tenantId: string,
  ids: readonly string[],
): Promise<Map<string, MenuItemForPricing>> {
  return toPricingMenu(await findMenuItemsByIds(db, tenantId, ids));
}

/** Menu rows, keyed by id, in the pricing module's shape. */
export function toPricingMenu(
  rows: readonly MenuItemWithModifiers[],
): Map<string, MenuItemForPricing> {
  return new Map(
    rows.map((row) => [
      row.id,
      {
        id: row.id,
        name: row.name,
        price: row.price,
        available: row.available,
        modifiers: row.modifiers.map((m) => ({ id: m.id, name: m.name, price: m.price })),
      },
    ]),
  );
}

/** POS ids of the menu items (and their modifiers) an order names, for the POS mapping. */
export async function loadPosMapping(
  db: Db,
  tenantId: string,
  ids: readonly string[],
): Promise<PosMapping> {
  return toPosMapping(await findMenuItemsByIds(db, tenantId, ids));
}

/** The vendor ids of menu items (and their modifiers), by item id. */
export type PosMapping = Map<
  string,
  { posItemId: string | null; modifiers: Map<string, string | null> }
>;

/** The POS mapping of menu rows already read. */
export function toPosMapping(rows: readonly MenuItemWithModifiers[]): PosMapping {
  return new Map(
    rows.map((row) => [
      row.id,
      {
        posItemId: row.posItemId,
        modifiers: new Map(row.modifiers.map((m) => [m.id, m.posModifierId])),
      },
    ]),
  );
}
