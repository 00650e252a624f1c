import { describe, expect, it } from "vitest";
import {
  call,
  callJson,
  createKey,
  createMenuItem,
  createTenant,
  expectError,
  type MenuItemBody,
  tableCounts,
} from "../helpers";

const usd = (amount: number) => ({ amount, currency: "USD" });

describe("menu: happy path", () => {
  it("owner creates an item with modifiers and POS ids; staff and storefront read it", async () => {
    const t = await createTenant();
    const created = await callJson<{ item: MenuItemBody & Record<string, unknown> }>(
      `/v1/admin/${t.slug}/menu/items`,
      {
        token: t.ownerKey,
        body: {
          name: "Smash Burger",
          description: "Two patties",
          price: usd(1250),
          posItemId: "toast-item-1",
          modifiers: [
            { name: "Add cheese", price: usd(150), posModifierId: "toast-mod-cheese" },
            { name: "No onions", price: usd(0) },
          ],
        },
      },
      201,
    );
    expect(created.item).toMatchObject({
      name: "Smash Burger",
      description: "Two patties",
      price: usd(1250),
      available: true,
      posItemId: "toast-item-1",
    });
    const free = { groupId: null, maxQuantity: 1, available: true, availableAgainAt: null };
    expect(created.item.modifiers).toEqual([
      {
        id: expect.stringMatching(/^mod_/),
        name: "Add cheese",
        price: usd(150),
        posModifierId: "toast-mod-cheese",
        ...free,
      },
      {
        id: expect.stringMatching(/^mod_/),
        name: "No onions",
        price: usd(0),
        posModifierId: null,
        ...free,
      },
    ]);

    const staff = await createKey(t, "staff");
    const listed = await callJson<{ items: MenuItemBody[] }>(
      `/v1/admin/${t.slug}/menu/items`,
      { token: staff },
      200,
    );
    expect(listed.items).toEqual([created.item]);

    const storefront = await callJson<{ tenant: unknown; items: MenuItemBody[] }>(
      `/v1/stores/${t.slug}/menu`,
      {},
      200,
    );
    expect(storefront.tenant).toEqual({ slug: t.slug, name: `Test ${t.slug}`, currency: "USD" });
    // The same item without its POS mapping: the storefront never sees POS ids.
    const {
      posItemId: _item,
      posAvailable: _stock,
      syncedAt: _synced,
      availableAgainAt: _again,
      modifiers,
      ...rest
    } = created.item;
    expect(storefront.items).toEqual([
      {
        ...rest,
        modifiers: modifiers.map((m) => {
          const {
            posModifierId: _mod,
            availableAgainAt: _at,
            ...shown
          } = m as typeof m & { posModifierId?: unknown; availableAgainAt?: unknown };
          return shown;
        }),
      },
    ]);
    const text = JSON.stringify(storefront);
    for (const id of ["toast-item-1", "toast-mod-cheese", "posItemId", "posModifierId"]) {
      expect(text).not.toContain(id);
    }
  });

  it("the storefront menu lists available items only; the admin list has all", async () => {
    const t = await createTenant();
    const on = await createMenuItem(t, { name: "Soup", price: 600 });
    const off = await createMenuItem(t, { name: "Seasonal pie", price: 700, available: false });
    const storefront = await callJson<{ items: MenuItemBody[] }>(
      `/v1/stores/${t.slug}/menu`,
      {},
      200,
    );
    expect(storefront.items.map((i) => i.id)).toEqual([on.id]);
    const admin = await callJson<{ items: MenuItemBody[] }>(
      `/v1/admin/${t.slug}/menu/items`,
      { token: t.ownerKey },
      200,
    );
    expect(admin.items.map((i) => i.id)).toEqual([on.id, off.id]);
  });

  it("PATCH changes fields and replaces modifiers, keeping the ids passed back", async () => {
    const t = await createTenant();
    const item = await createMenuItem(t, {
      name: "Fries",
      price: 400,
      modifiers: [
        { name: "Large", price: 150 },
        { name: "Truffle", price: 300 },
      ],
    });
    const [large] = item.modifiers;
    const patched = await callJson<{ item: MenuItemBody & { available: boolean } }>(
      `/v1/admin/${t.slug}/menu/items/${item.id}`,
      {
        method: "PATCH",
        token: t.ownerKey,
        body: {
          price: usd(450),
          available: false,
          modifiers: [
            { id: large?.id, name: "Large", price: usd(200) },
            { name: "Cajun", price: usd(50) },
          ],
        },
      },
      200,
    );
    expect(patched.item.name).toBe("Fries");
    expect(patched.item.price).toEqual(usd(450));
    expect(patched.item.available).toBe(false);
    expect(patched.item.modifiers.map((m) => [m.name, m.price.amount])).toEqual([
      ["Large", 200],
      ["Cajun", 50],
    ]);
    expect(patched.item.modifiers[0]?.id).toBe(large?.id);
    expect(patched.item.modifiers[1]?.id).not.toBe(item.modifiers[1]?.id);
  });

  it("DELETE removes the item and its modifiers", async () => {
    const t = await createTenant();
    const item = await createMenuItem(t, {
      name: "Tea",
      price: 300,
      modifiers: [{ name: "Milk", price: 0 }],
    });
    const before = await tableCounts();
    const res = await call(`/v1/admin/${t.slug}/menu/items/${item.id}`, {
      method: "DELETE",
      token: t.ownerKey,
    });
    expect(res.status).toBe(204);
    const after = await tableCounts();
    expect(after.menu_items).toBe((before.menu_items ?? 0) - 1);
    expect(after.menu_modifiers).toBe((before.menu_modifiers ?? 0) - 1);
    await expectError(
      await call(`/v1/admin/${t.slug}/menu/items/${item.id}`, {
        method: "DELETE",
        token: t.ownerKey,
      }),
      404,
      "not_found",
    );
  });
});

describe("menu: errors", () => {
  it.each([
    ["negative price", { name: "X", price: usd(-1) }, "price.amount"],
    ["fractional price", { name: "X", price: usd(1.5) }, "price.amount"],
    ["price as a number", { name: "X", price: 100 }, "price"],
    ["empty name", { name: "  ", price: usd(100) }, "name"],
    ["unknown field", { name: "X", price: usd(100), colour: "red" }, ""],
    [
      "modifier without price",
      { name: "X", price: usd(100), modifiers: [{ name: "Y" }] },
      "modifiers[0].price",
    ],
  ])("%s is 400 and writes nothing", async (_name, body, path) => {
    const t = await createTenant();
    const before = await tableCounts();
    const error = await expectError(
      await call(`/v1/admin/${t.slug}/menu/items`, { token: t.ownerKey, body }),
      400,
      "validation_failed",
    );
    if (path) {
      const details = error.details as { issues: { path: string }[] };
      expect(details.issues.map((i) => i.path)).toContain(path);
    }
    expect(await tableCounts()).toEqual(before);
  });

  it("a price in another currency than the tenant's is 400", async () => {
    const t = await createTenant();
    const before = await tableCounts();
    const error = await expectError(
      await call(`/v1/admin/${t.slug}/menu/items`, {
        token: t.ownerKey,
        body: { name: "X", price: { amount: 100, currency: "EUR" } },
      }),
      400,
      "validation_failed",
    );
    expect(error.message).toContain("price.currency");
    expect(await tableCounts()).toEqual(before);
  });

  it("PATCH with a modifier id of another item is 400 and changes nothing", async () => {
    const t = await createTenant();
    const a = await createMenuItem(t, {
      name: "A",
      price: 100,
      modifiers: [{ name: "a1", price: 10 }],
    });
    const b = await createMenuItem(t, {
      name: "B",
      price: 200,
      modifiers: [{ name: "b1", price: 20 }],
    });
    await expectError(
      await call(`/v1/admin/${t.slug}/menu/items/${b.id}`, {
        method: "PATCH",
        token: t.ownerKey,
        body: { modifiers: [{ id: a.modifiers[0]?.id, name: "stolen", price: usd(1) }] },
      }),
      400,
      "validation_failed",
    );
    const list = await callJson<{ items: MenuItemBody[] }>(
      `/v1/admin/${t.slug}/menu/items`,
      { token: t.ownerKey },
      200,
    );
    expect(list.items).toEqual(
      [a, b].map((i) => expect.objectContaining({ id: i.id, modifiers: i.modifiers })),
    );
  });

  it("an empty PATCH is 400; an unknown item is 404", async () => {
    const t = await createTenant();
    const item = await createMenuItem(t, { name: "A", price: 100 });
    await expectError(
      await call(`/v1/admin/${t.slug}/menu/items/${item.id}`, {
        method: "PATCH",
        token: t.ownerKey,
        body: {},
      }),
      400,
      "validation_failed",
    );
    await expectError(
      await call(`/v1/admin/${t.slug}/menu/items/itm_nope`, {
        method: "PATCH",
        token: t.ownerKey,
        body: { name: "B" },
      }),
      404,
      "not_found",
    );
  });

  it("the storefront menu of an unknown tenant is 404", async () => {
    await expectError(await call("/v1/stores/nobody-here/menu"), 404, "not_found");
  });
});

describe("menu: roles", () => {
  it("staff reads but cannot write; terminal cannot read the admin menu", async () => {
    const t = await createTenant();
    const item = await createMenuItem(t, { name: "A", price: 100 });
    const staff = await createKey(t, "staff");
    const terminal = await createKey(t, "terminal");
    const before = await tableCounts();
    await expectError(
      await call(`/v1/admin/${t.slug}/menu/items`, {
        token: staff,
        body: { name: "B", price: usd(1) },
      }),
      403,
      "forbidden",
    );
    await expectError(
      await call(`/v1/admin/${t.slug}/menu/items/${item.id}`, {
        method: "PATCH",
        token: staff,
        body: { name: "C" },
      }),
      403,
      "forbidden",
    );
    await expectError(
      await call(`/v1/admin/${t.slug}/menu/items/${item.id}`, { method: "DELETE", token: staff }),
      403,
      "forbidden",
    );
    await expectError(
      await call(`/v1/admin/${t.slug}/menu/items`, { token: terminal }),
      403,
      "forbidden",
    );
    expect(await tableCounts()).toEqual(before);
  });
});
