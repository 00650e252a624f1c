import {
  ageLevel,
  type BoardState,
  COLUMNS,
  formatAge,
  formatMoney,
  isFresh,
  isPending,
  nextStep,
  orderAgeMs,
  ticketsIn,
} from "./board";
import type { ConnectionPhase } from "./connection";
import type { Order, OrderStatus } from "./protocol";

/**
 * Draws the board into the page. Tickets are keyed by order id and only
 * rebuilt when what they show changes, so a highlight animation or a
 * focused button survives the next render. Every text from an order goes in
 * through `textContent`: customer names and notes are typed by strangers.
 *
 * Stable hooks for tests and tools: `data-testid="column-<status>"` on each
 * column, `data-testid="ticket"` with `data-order-number`, `data-order-id`
 * and `data-status` on each ticket, `data-testid="advance"` on its button.
 */

export interface ViewModel {
  board: BoardState;
  phase: ConnectionPhase;
  phaseDetail: string;
  now: number;
  soundBlocked: boolean;
}

const PHASE_LABELS: Readonly<Record<ConnectionPhase, string>> = {
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
  offline: "Offline",
  stopped: "Signed out",
};

const ORDER_TYPE_LABELS: Readonly<Record<Order["orderType"], string>> = {
  pickup: "Pickup",
  delivery: "Delivery",
  dine_in: "Dine in",
};

interface RenderedTicket {
  element: HTMLElement;
  signature: string;
}

export class BoardView {
  readonly #columns = new Map<OrderStatus, { list: HTMLElement; count: HTMLElement }>();
  readonly #tickets = new Map<string, RenderedTicket>();
  readonly #connection: HTMLElement;
  readonly #connectionLabel: HTMLElement;
  readonly #connectionSeq: HTMLElement;
  readonly #banners: HTMLElement;
  readonly #activity: HTMLElement;
  readonly #enableSound: HTMLElement;

  constructor(document: Document) {
    this.#connection = byId(document, "connection");
    this.#connectionLabel = byId(document, "connection-label");
    this.#connectionSeq = byId(document, "connection-seq");
    this.#banners = byId(document, "banners");
    this.#activity = byId(document, "activity");
    this.#enableSound = byId(document, "enable-sound");
    const board = byId(document, "board");
    board.replaceChildren(
      ...COLUMNS.map((column) => {
        const count = h("span", {
          class: "column__count",
          "data-testid": `count-${column.status}`,
        });
        count.textContent = "0";
        const list = h("div", { class: "column__tickets" });
        this.#columns.set(column.status, { list, count });
        return h(
          "section",
          {
            class: `column column--${column.status}`,
            "data-testid": `column-${column.status}`,
            "data-status": column.status,
            "aria-label": column.title,
          },
          h("header", { class: "column__header" }, h("h2", {}, column.title), count),
          list,
        );
      }),
    );
  }

  /** Brings the page up to date with the model. */
  render(model: ViewModel): void {
    this.#renderConnection(model);
    this.#renderBanners(model.board);
    this.#renderActivity(model.board);
    this.#enableSound.hidden = !model.soundBlocked;

    const seen = new Set<string>();
    for (const column of COLUMNS) {
      const slot = this.#columns.get(column.status);
      if (!slot) continue;
      const orders = ticketsIn(model.board, column.status);
      slot.count.textContent = String(orders.length);
      orders.forEach((order, index) => {
        seen.add(order.id);
        const element = this.#ticket(order, model);
        const current = slot.list.children.item(index);
        if (current !== element) slot.list.insertBefore(element, current);
      });
    }
    for (const [orderId, rendered] of this.#tickets) {
      if (seen.has(orderId)) continue;
      rendered.element.remove();
      this.#tickets.delete(orderId);
    }
  }

  /** Forgets every ticket (after a sign-out). */
  clear(): void {
    for (const rendered of this.#tickets.values()) rendered.element.remove();
    this.#tickets.clear();
  }

  #renderConnection({ board, phase, phaseDetail }: ViewModel): void {
    this.#connection.dataset.state = phase;
    this.#connectionLabel.textContent = phaseDetail
      ? `${PHASE_LABELS[phase]} (${phaseDetail})`
      : PHASE_LABELS[phase];
    this.#connectionSeq.textContent = `seq ${board.lastSeq}`;
    this.#connectionSeq.dataset.seq = String(board.lastSeq);
  }

  #renderBanners(board: BoardState): void {
    const banners: HTMLElement[] = board.alerts.map((alert) => {
      const order = alert.orderId ? board.orders[alert.orderId] : undefined;
      const about = order ? ` · order #${order.number}` : "";
      return h(
        "div",
        {
          class: `banner banner--${alert.level === "info" ? "info" : "alert"}`,
          role: "alert",
          "data-testid": "alert",
          "data-alert-id": alert.alertId,
          "data-kind": alert.kind,
        },
        h("strong", { class: "banner__kind" }, `${humanise(alert.kind)}${about}`),
        h("span", { class: "banner__message" }, alert.message),
        h(
          "button",
          {
            type: "button",
            class: "ghost",
            "data-action": "dismiss-alert",
            "data-alert-id": alert.alertId,
          },
          "Dismiss",
        ),
      );
    });
    if (board.notice) {
      banners.push(
        h(
          "div",
          { class: "banner banner--notice", role: "status", "data-testid": "notice" },
          h("span", { class: "banner__message" }, board.notice),
          h("button", { type: "button", class: "ghost", "data-action": "dismiss-notice" }, "OK"),
        ),
      );
    }
    // Rebuilt each time: there are a handful at most and none holds state worth keeping.
    const signature = JSON.stringify([board.alerts.map((a) => [a.alertId, a.seq]), board.notice]);
    if (this.#banners.dataset.signature === signature) return;
    this.#banners.dataset.signature = signature;
    this.#banners.replaceChildren(...banners);
  }

  #renderActivity(board: BoardState): void {
    const latest = board.activity.slice(0, 3);
    const signature = latest.map((a) => a.seq).join(",");
    if (this.#activity.dataset.signature === signature) return;
    this.#activity.dataset.signature = signature;
    this.#activity.replaceChildren(
      ...latest.map((item) =>
        h("span", { class: "activity__item", "data-testid": "activity-item" }, item.text),
      ),
    );
  }

  #ticket(order: Order, model: ViewModel): HTMLElement {
    const { board, now, phase } = model;
    const pending = isPending(board, order.id);
    const error = board.ticketErrors[order.id] ?? "";
    const canSend = phase === "connected";
    const signature = JSON.stringify([
      order.updatedAt,
      order.status,
      order.posStatus,
      order.posEnteredAt,
      pending,
      error,
      canSend,
    ]);
    let rendered = this.#tickets.get(order.id);
    if (!rendered) {
      rendered = {
        element: h("article", { class: "ticket", "data-testid": "ticket" }),
        signature: "",
      };
      this.#tickets.set(order.id, rendered);
    }
    const { element } = rendered;
    if (rendered.signature !== signature) {
      rendered.signature = signature;
      fillTicket(element, order, { pending, error, canSend });
    }
    element.classList.toggle("ticket--fresh", isFresh(board, order.id, now));
    const age = orderAgeMs(board, order, now);
    const ageElement = element.querySelector<HTMLElement>(".ticket__age");
    if (ageElement) {
      ageElement.textContent = formatAge(age);
      ageElement.dataset.level = ageLevel(age);
    }
    return element;
  }
}

function fillTicket(
  element: HTMLElement,
  order: Order,
  state: { pending: boolean; error: string; canSend: boolean },
): void {
  element.dataset.orderId = order.id;
  element.dataset.orderNumber = String(order.number);
  element.dataset.status = order.status;
  element.dataset.orderType = order.orderType;

  const header = h(
    "header",
    { class: "ticket__header" },
    h("span", { class: "ticket__number", "data-testid": "ticket-number" }, `#${order.number}`),
    h(
      "span",
      { class: `ticket__type ticket__type--${order.orderType}` },
      ORDER_TYPE_LABELS[order.orderType],
    ),
    h("span", { class: "ticket__age", "data-testid": "ticket-age" }),
  );
  const parts: HTMLElement[] = [
    header,
    h("div", { class: "ticket__customer", "data-testid": "ticket-customer" }, order.customer.name),
  ];
  if (order.scheduledFor) {
    parts.push(h("div", { class: "ticket__scheduled" }, `For ${formatTime(order.scheduledFor)}`));
  }
  if (order.estimatedReadyAt) {
    parts.push(
      h(
        "div",
        { class: "ticket__ready", "data-testid": "ticket-ready" },
        `POS: ready ${formatTime(order.estimatedReadyAt)}`,
      ),
    );
  }
  if (order.posStatus === "manual") parts.push(manualEntry(order, state));
  parts.push(
    h(
      "ul",
      { class: "ticket__items" },
      ...order.items.map((item) => {
        const line = h(
          "li",
          { class: "ticket__item", "data-testid": "ticket-item" },
          h("span", { class: "ticket__qty" }, `${item.quantity}×`),
          h("span", { class: "ticket__name" }, item.name),
        );
        if (item.modifiers.length > 0) {
          line.append(
            h(
              "ul",
              { class: "ticket__modifiers" },
              ...item.modifiers.map((m) => h("li", { "data-testid": "ticket-modifier" }, m.name)),
            ),
          );
        }
        if (item.specialInstructions) {
          line.append(
            h(
              "p",
              { class: "ticket__instructions", "data-testid": "ticket-item-note" },
              item.specialInstructions,
            ),
          );
        }
        return line;
      }),
    ),
  );
  if (order.specialInstructions) {
    parts.push(
      h(
        "p",
        { class: "ticket__note", "data-testid": "ticket-note" },
        h("strong", {}, "Note: "),
        order.specialInstructions,
      ),
    );
  }
  const address = order.deliveryAddress;
  if (order.orderType === "delivery" && address) {
    const lines = [address.line1, address.line2, `${address.postalCode} ${address.city}`];
    parts.push(
      h(
        "address",
        { class: "ticket__address" },
        lines.filter((l): l is string => Boolean(l)).join(", "),
        address.instructions ? ` (${address.instructions})` : "",
      ),
    );
  }
  if (state.error) {
    parts.push(
      h("p", { class: "ticket__error", role: "alert", "data-testid": "ticket-error" }, state.error),
    );
  }
  const step = nextStep(order);
  const footer = h(
    "footer",
    { class: "ticket__footer" },
    h("span", { class: "ticket__total" }, formatMoney(order.total)),
  );
  if (step) {
    const button = h(
      "button",
      {
        type: "button",
        class: "advance",
        "data-testid": "advance",
        "data-action": "advance",
        "data-order-id": order.id,
        "data-next-status": step.status,
      },
      state.pending ? "Sending…" : step.label,
    );
    if (state.pending || !state.canSend) button.setAttribute("disabled", "");
    footer.append(button);
  }
  parts.push(footer);
  element.replaceChildren(...parts);
}

/**
 * A ticket taken while the POS was down: the banner asking for it to be typed into the POS, and
 * the button recording that it was (`entered_in_pos`); once recorded, when.
 */
function manualEntry(order: Order, state: { canSend: boolean }): HTMLElement {
  if (order.posEnteredAt) {
    return h(
      "div",
      { class: "ticket__manual ticket__manual--done", "data-testid": "manual-entered" },
      `Entered in the POS at ${formatTime(order.posEnteredAt)}`,
    );
  }
  const button = h(
    "button",
    {
      type: "button",
      class: "ghost",
      "data-testid": "entered-in-pos",
      "data-action": "entered-in-pos",
      "data-order-id": order.id,
    },
    "Entered in POS",
  );
  if (!state.canSend) button.setAttribute("disabled", "");
  return h(
    "div",
    { class: "ticket__manual", role: "alert", "data-testid": "manual-entry" },
    h("strong", {}, "Enter this order in the POS: "),
    "the POS was down when it was paid.",
    button,
  );
}

/** "pos_sync_failed" → "Pos sync failed". */
function humanise(kind: string): string {
  const words = kind.replaceAll("_", " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function formatTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}

function byId(document: Document, id: string): HTMLElement {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page has no #${id}`);
  return element;
}

/** Creates an element; string children become text nodes, never markup. */
function h(
  tag: string,
  attributes: Record<string, string>,
  ...children: (Node | string)[]
): HTMLElement {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  element.append(...children);
  return element;
}
