// Transactions pushed by the homeserver: validated, applied once per txnId, acknowledged.
import type { AppserviceTransaction, RoomEvent } from "../../config/wire-types.ts";
import { callInputs } from "./calls/call-events.ts";
import type { CallState } from "./calls/call-state.ts";
import { MatrixError } from "./errors.ts";
import type { Logger } from "./log.ts";
import type { MembershipChange, Store, TransactionOutcome } from "./storage/store.ts";

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Checks the shape of a transaction body; the error says which event is wrong and why. */
export function parseTransaction(body: unknown): AppserviceTransaction {
  if (!isObject(body)) throw new MatrixError("M_BAD_JSON", "Transaction body must be a JSON object");
  const { events } = body;
  if (!Array.isArray(events)) throw new MatrixError("M_BAD_JSON", "Transaction body must have an 'events' array");
  events.forEach((event: unknown, i) => {
    const problem = eventProblem(event);
    if (problem) throw new MatrixError("M_BAD_JSON", `events[${i}]: ${problem}`);
  });
  return body as unknown as AppserviceTransaction;
}

function eventProblem(event: unknown): string | null {
  if (!isObject(event)) return "must be an object";
  for (const key of ["event_id", "room_id", "type", "sender"] as const) {
    if (typeof event[key] !== "string") return `'${key}' must be a string`;
  }
  if (!isObject(event.content)) return "'content' must be an object";
  if (event.state_key !== undefined && typeof event.state_key !== "string") return "'state_key' must be a string";
  if (event.origin_server_ts !== undefined && typeof event.origin_server_ts !== "number") {
    return "'origin_server_ts' must be a number";
  }
  return null;
}

function membershipChange(event: RoomEvent): MembershipChange | null {
  if (event.type !== "m.room.member" || event.state_key === undefined) return null;
  const { membership } = event.content;
  if (typeof membership !== "string") return null;
  return {
    roomId: event.room_id,
    userId: event.state_key,
    membership,
    eventId: event.event_id,
    originServerTs: event.origin_server_ts ?? 0,
  };
}

export interface TransactionHandler {
  handle(txnId: string, body: unknown): Promise<TransactionOutcome>;
}

export interface TransactionHandlerDeps {
  store: Pick<Store, "applyTransaction">;
  /** Call state follows MatrixRTC memberships and room departures; left out, calls are not tracked. */
  calls?: Pick<CallState, "applyInputs" | "serialize" | "afterCommit">;
  /** Sees the events of each transaction once it is committed, not of a redelivered one (chat commands). */
  onHandled?: (events: readonly RoomEvent[]) => void;
  log: Logger;
}

export function createTransactionHandler({ store, calls, onHandled, log }: TransactionHandlerDeps): TransactionHandler {
  // A homeserver retrying while we still work on the first delivery gets the same answer.
  const inFlight = new Map<string, Promise<TransactionOutcome>>();
  return {
    handle(txnId, body) {
      const txn = parseTransaction(body);
      const running = inFlight.get(txnId);
      if (running) return running;
      const memberships = txn.events.map(membershipChange).filter((c): c is MembershipChange => c !== null);
      const inputs = calls ? callInputs(txn.events) : [];
      const apply = (): Promise<TransactionOutcome> =>
        calls && inputs.length > 0
          ? calls.serialize(() => store.applyTransaction(txnId, txn.events.length, memberships, (trx) => calls.applyInputs(trx, inputs)))
          : store.applyTransaction(txnId, txn.events.length, memberships);
      const work = apply().then((outcome) => {
        log.debug("transaction", { txnId, events: txn.events.length, outcome });
        // Notices and LiveKit removals run once the changes are committed, not before the answer.
        if (outcome === "handled" && inputs.length > 0) calls?.afterCommit();
        if (outcome === "handled") onHandled?.(txn.events);
        return outcome;
      });
      inFlight.set(txnId, work);
      return work.finally(() => inFlight.delete(txnId));
    },
  };
}
