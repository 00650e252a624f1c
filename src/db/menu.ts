import { and, asc, eq, inArray } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { newId } from "../crypto";
import { isAvailableAt } from "../domain/availability";
import type { MenuItemForPricing } from "../domain/pricing";
import type { Db } from "./client";
import { type OutboxRecord, outboxInsert } from "./outbox";
import { menuCategories, menuItems, menuModifierGroups, menuModifiers } from "./schema";

export type MenuItemRow = typeof menuItems.$inferSelect;
export type ModifierRow = typeof menuModifiers.$inferSelect;
export type ModifierGroupRow = typeof menuModifierGroups.$inferSelect;
export type MenuCategoryRow = typeof menuCategories.$inferSelect;
export type MenuItemWithModifiers = MenuItemRow & {
  modifiers: ModifierRow[];
  modifierGroups: ModifierGroupRow[];
};

export interface ModifierInput {
  id?: string | undefined;
  name: string;
  price: number;
  posModifierId?: string | null | undefined;
  posStockId?: string | null | undefined;
  maxQuantity?: number | undefined;
  available?: boolean | undefined;
}

export interface ModifierGroupInput {
  id?: string | undefined;
  name: string;
  minSelections: number;
  maxSelections: number | null;
  posGroupId?: string | null | undefined;
  modifiers: ModifierInput[];
}

export interface MenuItemInput {
  name: string;
  description?: string | undefined;
  photoUrl?: string | null | undefined;
  categoryId?: string | null | undefined;
  sortOrder?: number | undefined;
  price: number;
  available?: boolean | undefined;
  posItemId?: string | null | undefined;
  /** Free extras outside any group. */
  modifiers?: ModifierInput[] | undefined;
  modifierGroups?: ModifierGroupInput[] | undefined;
}

/** An item's modifiers and groups, in their order: what every menu read loads with the item. */
export const withModifiers = {
  modifiers: { orderBy: [asc(menuModifiers.position)] },
  modifierGroups: { orderBy: [asc(menuModifierGroups.position)] },
};

/** Every menu item of the tenant, in menu order (sort order, then age). */
export async function listMenuItems(db: Db, tenantId: string): Promise<MenuItemWithModifiers[]> {
  return db.query.menuItems.findMany({
    where: eq(menuItems.tenantId, tenantId),
    with: withModifiers,
    orderBy: [asc(menuItems.sortOrder), asc(menuItems.createdAt), asc(menuItems.id)],
  });
}

/** The tenant's menu categories, in menu order. */
export async function listMenuCategories(db: Db, tenantId: string): Promise<MenuCategoryRow[]> {
  return db.query.menuCategories.findMany({
    where: eq(menuCategories.tenantId, tenantId),
    orderBy: [asc(menuCategories.sortOrder), asc(menuCategories.name)],
  });
}

/** Adds a category (owner); synced ones come from the POS. */
export async function createMenuCategory(
  db: Db,
  tenantId: string,
  input: { name: string; sortOrder: number },
  now: Date,
): Promise<MenuCategoryRow> {
  const at = now.toISOString();
  const [row] = await db
    .insert(menuCategories)
    .values({ id: newId("cat", now.getTime()), tenantId, ...input, createdAt: at, updatedAt: at })
    .returning();
  if (!row) throw new Error("category vanished after insert");
  return row;
}

/** The category, when it is the tenant's. */
export async function findMenuCategory(
  db: Db,
  tenantId: string,
  id: string,
): Promise<MenuCategoryRow | undefined> {
  return db.query.menuCategories.findFirst({
    where: and(eq(menuCategories.tenantId, tenantId), eq(menuCategories.id, id)),
  });
}

export async function findMenuItem(
  db: Db,
  tenantId: string,
  id: string,
): Promise<MenuItemWithModifiers | undefined> {
  return db.query.menuItems.findFirst({
    where: and(eq(menuItems.tenantId, tenantId), eq(menuItems.id, id)),
    with: withModifiers,
  });
}

/**
 * The inserts for an item's free modifiers and groups, one statement per row: a multi-row
 * insert would pass D1's 100-parameter limit.
 */
function modifierInserts(
  db: Db,
  tenantId: string,
  menuItemId: string,
  input: Pick<MenuItemInput, "modifiers" | "modifierGroups">,
) {
  const statements: BatchItem<"sqlite">[] = [];
  let position = 0;
  const modifier = (m: ModifierInput, groupId: string | null) =>
    db.insert(menuModifiers).values({
      id: m.id ?? newId("mod"),
      menuItemId,
      tenantId,
      groupId,
      name: m.name,
      price: m.price,
      maxQuantity: m.maxQuantity ?? 1,
      available: m.available ?? true,
      posModifierId: m.posModifierId ?? null,
      posStockId: m.posStockId ?? null,
      position: position++,
    });
  for (const [groupPosition, group] of (input.modifierGroups ?? []).entries()) {
    const groupId = group.id ?? newId("mgp");
    statements.push(
      db.insert(menuModifierGroups).values({
        id: groupId,
        menuItemId,
        tenantId,
        name: group.name,
        minSelections: group.minSelections,
        maxSelections: group.maxSelections,
        posGroupId: group.posGroupId ?? null,
        position: groupPosition,
      }),
    );
    for (const m of group.modifiers) statements.push(modifier(m, groupId));
  }
  for (const m of input.modifiers ?? []) statements.push(modifier(m, null));
  return statements;
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
      categoryId: input.categoryId ?? null,
      name: input.name,
      description: input.description ?? "",
      photoUrl: input.photoUrl ?? null,
      sortOrder: input.sortOrder ?? 0,
      price: input.price,
      available: input.available ?? true,
      posItemId: input.posItemId ?? null,
      createdAt: at,
      updatedAt: at,
    }),
    ...modifierInserts(db, tenantId, id, input),
  ]);
  const created = await findMenuItem(db, tenantId, id);
  if (!created) throw new Error("menu item vanished after insert");
  return created;
}

/**
 * Applies a partial update. A given `modifiers` or `modifierGroups` list replaces the item's
 * modifiers and groups (both, the one not given kept as it is), keeping the ids of those passed
 * with an id of this item.
 */
export async function updateMenuItem(
  db: Db,
  existing: MenuItemWithModifiers,
  patch: Partial<MenuItemInput>,
  now: Date,
): Promise<MenuItemWithModifiers> {
  const { modifiers, modifierGroups, ...fields } = patch;
  const statements: BatchItem<"sqlite">[] = [
    db
      .update(menuItems)
      .set({
        ...fields,
        // Switched on by hand: an 86 with an end time is over too.
        ...(fields.available === true ? { availableAgainAt: null } : {}),
        updatedAt: now.toISOString(),
      })
      .where(and(eq(menuItems.tenantId, existing.tenantId), eq(menuItems.id, existing.id))),
  ];
  if (modifiers || modifierGroups) {
    statements.push(db.delete(menuModifiers).where(itemModifiers(existing.tenantId, existing.id)));
    statements.push(
      db
        .delete(menuModifierGroups)
        .where(
          and(
            eq(menuModifierGroups.tenantId, existing.tenantId),
            eq(menuModifierGroups.menuItemId, existing.id),
          ),
        ),
    );
    statements.push(
      ...modifierInserts(db, existing.tenantId, existing.id, {
        modifiers: modifiers ?? existing.modifiers.filter((m) => m.groupId === null).map(kept),
        modifierGroups:
          modifierGroups ??
          existing.modifierGroups.map((g) => ({
            ...g,
            modifiers: existing.modifiers.filter((m) => m.groupId === g.id).map(kept),
          })),
      }),
    );
  }
  await db.batch(statements as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
  const updated = await findMenuItem(db, existing.tenantId, existing.id);
  if (!updated) throw new Error("menu item vanished after update");
  return updated;
}

/** A stored modifier as input again, so a replacement of the other list keeps it as it was. */
function kept(m: ModifierRow): ModifierInput {
  return m;
}

/** The modifiers of one item of one tenant: an item id alone must never reach another tenant's rows. */
function itemModifiers(tenantId: string, menuItemId: string) {
  return and(eq(menuModifiers.tenantId, tenantId), eq(menuModifiers.menuItemId, menuItemId));
}

export async function deleteMenuItem(db: Db, tenantId: string, id: string): Promise<boolean> {
  const [, , deleted] = await db.batch([
    db.delete(menuModifiers).where(itemModifiers(tenantId, id)),
    db
      .delete(menuModifierGroups)
      .where(and(eq(menuModifierGroups.tenantId, tenantId), eq(menuModifierGroups.menuItemId, id))),
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
    with: withModifiers,
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

/** The menu entries an order draft names, keyed by id, in the pricing module's shape at `now`. */
export async function loadMenuForPricing(
  db: Db,
  tenantId: string,
  ids: readonly string[],
  now: Date,
): Promise<Map<string, MenuItemForPricing>> {
  return toPricingMenu(await findMenuItemsByIds(db, tenantId, ids), now);
}

/** Menu rows, keyed by id, in the pricing module's shape, available or not as at `now`. */
export function toPricingMenu(
  rows: readonly MenuItemWithModifiers[],
  now: Date,
): Map<string, MenuItemForPricing> {
  return new Map(
    rows.map((row) => [
      row.id,
      {
        id: row.id,
        name: row.name,
        price: row.price,
        available: isAvailableAt(row, now),
        modifiers: row.modifiers.map((m) => ({
          id: m.id,
          name: m.name,
          price: m.price,
          groupId: m.groupId,
          maxQuantity: m.maxQuantity,
          available: isAvailableAt(m, now),
        })),
        modifierGroups: row.modifierGroups.map((g) => ({
          id: g.id,
          name: g.name,
          minSelections: g.minSelections,
          maxSelections: g.maxSelections,
        })),
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

/** The item one of whose modifiers is `modifierId`, when both are the tenant's. */
export async function findMenuItemOfModifier(
  db: Db,
  tenantId: string,
  modifierId: string,
): Promise<MenuItemWithModifiers | undefined> {
  const [modifier] = await db
    .select({ menuItemId: menuModifiers.menuItemId })
    .from(menuModifiers)
    .where(and(eq(menuModifiers.tenantId, tenantId), eq(menuModifiers.id, modifierId)))
    .limit(1);
  return modifier ? findMenuItem(db, tenantId, modifier.menuItemId) : undefined;
}

/** Staff's switch on one item or modifier, and the event that tells the terminals, as one batch. */
export function availabilityUpdate(
  db: Db,
  tenantId: string,
  target: { kind: "item" | "modifier"; id: string },
  state: { available: boolean; availableAgainAt: string | null },
  event: OutboxRecord,
  now: Date,
): [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]] {
  const update =
    target.kind === "item"
      ? db
          .update(menuItems)
          .set({ ...state, updatedAt: now.toISOString() })
          .where(and(eq(menuItems.tenantId, tenantId), eq(menuItems.id, target.id)))
      : db
          .update(menuModifiers)
          .set(state)
          .where(and(eq(menuModifiers.tenantId, tenantId), eq(menuModifiers.id, target.id)));
  return [update, outboxInsert(db, event)];
}
