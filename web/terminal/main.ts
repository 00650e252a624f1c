import {
  applyFrame,
  type BoardState,
  dismissAlert,
  dismissNotice,
  emptyBoard,
  failPending,
  reconnecting,
  requestStatus,
  ticketsIn,
} from "./board";
import { type ConnectionPhase, fetchTicket, TerminalConnection, TicketRefused } from "./connection";
import {
  type Credentials,
  forgetKey,
  loadCredentials,
  loadRemembered,
  saveCredentials,
  TENANT_SLUG_PATTERN,
  TERMINAL_NAME_PATTERN,
} from "./credentials";
import { ORDER_STATUSES, type OrderStatus, type ServerFrame } from "./protocol";
import { Chime } from "./sound";
import { BoardView } from "./view";

/**
 * The terminal screen's controller: sign-in, one socket per session, the
 * board state, and the effects the reducer asks for (acks, resume, chime).
 */

/** A status change with no answer after this long is reported as failed. */
const RESULT_TIMEOUT_MS = 10_000;
/** How often ages, highlights and timeouts are refreshed. */
const TICK_MS = 5_000;
/** Acks are coalesced: one per burst of events (a replay can be thousands). */
const ACK_DELAY_MS = 250;

const LOST_MESSAGE =
  "The connection dropped before the server answered. Check the ticket, then retry.";
const NO_ANSWER_MESSAGE = "No answer from the server. Check the ticket, then retry.";
const NOT_CONNECTED_MESSAGE = "Not connected. Try again once the screen shows Connected.";

const page = {
  signin: element("signin"),
  form: element("signin-form") as HTMLFormElement,
  signinError: element("signin-error"),
  screen: element("screen"),
  tenant: element("tenant"),
  board: element("board"),
  banners: element("banners"),
  signOut: element("sign-out"),
  enableSound: element("enable-sound"),
};

const view = new BoardView(document);
const chime = new Chime();

let board: BoardState = emptyBoard();
let connection: TerminalConnection | null = null;
let phase: ConnectionPhase = "stopped";
let phaseDetail = "";
let ackTimer: ReturnType<typeof setTimeout> | undefined;
let renderTimer: ReturnType<typeof setTimeout> | undefined;
let chimes = 0;
let requestCounter = 0;

function startSession(credentials: Credentials, firstTicket?: string): void {
  board = emptyBoard();
  view.clear();
  page.tenant.textContent = credentials.name
    ? `${credentials.tenant} · ${credentials.name}`
    : credentials.tenant;
  page.signin.hidden = true;
  page.screen.hidden = false;
  connection = new TerminalConnection(
    window.location.origin,
    credentials,
    {
      resumeFrom: () => {
        board = reconnecting(board);
        return board.lastSeq;
      },
      onFrame: handleFrame,
      onPhase: (next, detail) => {
        phase = next;
        phaseDetail = detail;
        if (next !== "connected") board = failPending(board, LOST_MESSAGE);
        scheduleRender();
      },
      onRejected: (message) => endSession(message),
    },
    firstTicket,
  );
  void chime.unlock().then(scheduleRender);
  scheduleRender();
}

/** Stops the socket and shows the sign-in form (with `error`, when the key was refused). */
function endSession(error?: string): void {
  connection?.stop();
  connection = null;
  clearTimeout(ackTimer);
  ackTimer = undefined;
  forgetKey(window.localStorage);
  board = emptyBoard();
  view.clear();
  phase = "stopped";
  document.title = "Orderlane terminal";
  showSignin(error);
}

function showSignin(error?: string): void {
  const remembered = loadRemembered(window.localStorage);
  const fromUrl = new URLSearchParams(window.location.search).get("tenant");
  setField("tenant", fromUrl ?? remembered.tenant);
  setField("name", remembered.name);
  setField("key", "");
  page.signinError.textContent = error ?? "";
  page.signinError.hidden = !error;
  page.screen.hidden = true;
  page.signin.hidden = false;
  const focus = fieldValue("tenant") ? "key" : "tenant";
  page.form.querySelector<HTMLInputElement>(`[name="${focus}"]`)?.focus();
}

async function signIn(): Promise<void> {
  const credentials: Credentials = {
    tenant: fieldValue("tenant").trim().toLowerCase(),
    key: fieldValue("key").trim(),
    name: fieldValue("name").trim(),
  };
  const problem = !TENANT_SLUG_PATTERN.test(credentials.tenant)
    ? "The restaurant id is lowercase letters, digits and dashes."
    : !credentials.key
      ? "Enter the terminal key."
      : credentials.name && !TERMINAL_NAME_PATTERN.test(credentials.name)
        ? "The screen name is up to 40 letters, digits, dots, dashes or underscores."
        : null;
  if (problem) {
    showSigninError(problem);
    return;
  }
  // A click is the gesture browsers want before they allow sound.
  void chime.unlock();
  const submit = page.form.querySelector<HTMLButtonElement>("button[type=submit]");
  if (submit) submit.disabled = true;
  try {
    // Checks the key now, and the ticket opens the first connection.
    const ticket = await fetchTicket(window.location.origin, credentials);
    saveCredentials(window.localStorage, credentials);
    startSession(credentials, ticket);
  } catch (err) {
    showSigninError(
      err instanceof TicketRefused
        ? err.message
        : "Cannot reach the server. Check the network, then try again.",
    );
  } finally {
    if (submit) submit.disabled = false;
  }
}

function handleFrame(frame: ServerFrame): void {
  if (frame.type === "malformed") console.warn("terminal: ignored a frame:", frame.reason);
  if (frame.type === "unreadable_event") {
    console.warn(`terminal: skipped event ${frame.seq} (${frame.eventType}):`, frame.reason);
  }
  const { state, effects } = applyFrame(board, frame, Date.now());
  board = state;
  for (const effect of effects) {
    switch (effect.kind) {
      case "ack":
        scheduleAck();
        break;
      case "resume":
        connection?.send({ type: "resume", after: effect.after });
        break;
      case "chime":
        chimes += 1;
        document.body.dataset.chimes = String(chimes);
        chime.play();
        break;
    }
  }
  scheduleRender();
}

function scheduleAck(): void {
  if (ackTimer !== undefined) return;
  ackTimer = setTimeout(() => {
    ackTimer = undefined;
    if (board.lastSeq > 0) connection?.send({ type: "ack", seq: board.lastSeq });
  }, ACK_DELAY_MS);
}

function advance(orderId: string, status: OrderStatus): void {
  if (!connection || phase !== "connected") {
    board = { ...board, ticketErrors: { ...board.ticketErrors, [orderId]: NOT_CONNECTED_MESSAGE } };
    scheduleRender();
    return;
  }
  requestCounter += 1;
  const requestId = `${Date.now().toString(36)}-${requestCounter}-${Math.random().toString(36).slice(2, 10)}`;
  board = requestStatus(board, { requestId, orderId, status, sentAt: Date.now() });
  if (!connection.send({ type: "set_status", orderId, status, requestId })) {
    board = failPending(board, NOT_CONNECTED_MESSAGE);
  }
  scheduleRender();
}

// Renders are coalesced: a replay folds in many events before the page is drawn once.
// A timer, not requestAnimationFrame, so a screen in a background tab keeps up too.
function scheduleRender(): void {
  if (renderTimer !== undefined) return;
  renderTimer = setTimeout(render, 16);
}

function render(): void {
  renderTimer = undefined;
  if (!connection) return;
  const now = Date.now();
  view.render({
    board,
    phase,
    phaseDetail,
    now,
    soundBlocked: !chime.enabled,
  });
  const waiting = ticketsIn(board, "confirmed").length;
  document.title = waiting > 0 ? `(${waiting}) Orderlane terminal` : "Orderlane terminal";
}

function tick(): void {
  if (!connection) return;
  board = failPending(board, NO_ANSWER_MESSAGE, Date.now() - RESULT_TIMEOUT_MS);
  scheduleRender();
}

page.form.addEventListener("submit", (event) => {
  event.preventDefault();
  void signIn();
});
page.signOut.addEventListener("click", () => endSession());
page.enableSound.addEventListener("click", () => void chime.unlock().then(scheduleRender));
// Any tap on the screen counts as the gesture that lets the chime play.
document.addEventListener("pointerdown", () => {
  if (connection && !chime.enabled) void chime.unlock().then(scheduleRender);
});
page.board.addEventListener("click", (event) => {
  const button = closestAction(event, "advance");
  const orderId = button?.dataset.orderId;
  const status = button?.dataset.nextStatus;
  if (orderId && isOrderStatus(status)) advance(orderId, status);
});
page.board.addEventListener("click", (event) => {
  const orderId = closestAction(event, "entered-in-pos")?.dataset.orderId;
  // The order_updated that follows shows it recorded; a refusal comes back as its result.
  if (orderId) connection?.send({ type: "entered_in_pos", orderId });
});
page.banners.addEventListener("click", (event) => {
  const alertId = closestAction(event, "dismiss-alert")?.dataset.alertId;
  if (alertId) {
    board = dismissAlert(board, alertId);
    // Acknowledged for everyone, as POST …/alerts/:id/ack: it is not raised again.
    connection?.send({ type: "ack_alert", alertId });
  }
  if (closestAction(event, "dismiss-notice")) board = dismissNotice(board);
  scheduleRender();
});
setInterval(tick, TICK_MS);

boot();

function boot(): void {
  const stored = loadCredentials(window.localStorage);
  const fromUrl = new URLSearchParams(window.location.search).get("tenant");
  if (stored && (!fromUrl || fromUrl === stored.tenant)) startSession(stored);
  else showSignin();
}

function closestAction(event: Event, action: string): HTMLElement | null {
  const target = event.target;
  if (!(target instanceof Element)) return null;
  return target.closest<HTMLElement>(`[data-action="${action}"]`);
}

function isOrderStatus(value: string | undefined): value is OrderStatus {
  return (ORDER_STATUSES as readonly string[]).includes(value ?? "");
}

function showSigninError(message: string): void {
  page.signinError.textContent = message;
  page.signinError.hidden = false;
}

function fieldValue(name: string): string {
  const input = page.form.elements.namedItem(name);
  return input instanceof HTMLInputElement ? input.value : "";
}

function setField(name: string, value: string): void {
  const input = page.form.elements.namedItem(name);
  if (input instanceof HTMLInputElement) input.value = value;
}

function element(id: string): HTMLElement {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found;
}
