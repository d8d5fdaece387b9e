// Call state as one service: MatrixRTC changes from the transactions, LiveKit webhooks, the
// identities the focus service hands out, and the effects that follow. All of it lives in the
// database, so a restarted appservice carries on with the same calls.
import type { AppserviceConfig } from "../../../config/schema.ts";
import { pruneOld } from "../storage/retention.ts";
import type { Knex } from "knex";
import type { WebhookEvent } from "livekit-server-sdk";
import type { Logger } from "../log.ts";
import type { CallInput } from "./call-events.ts";
import { createCallEffects, participantsOf, type CallEffectsDeps, type TranscriptionEffectRunner } from "./call-effects.ts";
import { createCallStore, type Call, type CallStore } from "./call-store.ts";
import { sendDelayedLeave } from "./call-effect-types.ts";
import { callTracker } from "./call-tracker.ts";
import { isTranscriberParticipant } from "../transcription/transcriber-dispatch.ts";

export type WebhookOutcome = "handled" | "duplicate" | "ignored";

export interface CallState {
  /** Applies a transaction's call changes inside its database transaction (see Store.applyTransaction). */
  applyInputs(trx: Knex.Transaction, inputs: readonly CallInput[]): Promise<void>;
  /** Runs database work that changes call state one at a time (two starts of one call cannot race). */
  serialize<T>(work: () => Promise<T>): Promise<T>;
  /** Applies a verified LiveKit webhook, once per event id. */
  applyWebhook(event: WebhookEvent): Promise<WebhookOutcome>;
  recordIdentity: CallStore["recordIdentity"];
  /** Runs the effects of committed changes now; failures are logged and retried by the timer. */
  afterCommit(): void;
  /** Catches up (effects left by a previous run, expired memberships), then checks periodically. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface CallStateDeps extends Pick<CallEffectsDeps, "homeserver" | "livekit" | "botUserId" | "maxAttempts"> {
  db: Knex;
  /** Absent: transcription effects are dropped and nothing is reconciled (no LiveKit to dispatch on). */
  transcription?: TranscriptionEffectRunner;
  log: Logger;
  /** The server's language: the call notices are written in it. */
  language: string;
  /** What is pruned at each sweep; nothing when absent. */
  retention?: AppserviceConfig["retention"];
  /** How often failed effects are retried and expired memberships swept; default 10 s. */
  tickMs?: number;
  /** How often every active call (its connections, its transcription) is compared with LiveKit (at start too); default 60 s. */
  reconcileMs?: number;
  now?: () => number;
}

const WEBHOOK_IDS_KEPT_MS = 24 * 60 * 60 * 1000;
/** A connection younger than this may not be listed by LiveKit's room API yet: left alone. */
const NEW_CONNECTION_MS = 30_000;
/** A delegation may come with the token before the client connects: its participant is not missed before this. */
const UNCONNECTED_DELEGATION_MS = 2 * 60_000;

/** When LiveKit says it happened (seconds), or now for events without a time. */
function webhookTime(event: WebhookEvent, now: number): number {
  const ms = event.event === "participant_joined" ? Number(event.participant?.joinedAtMs ?? 0n) : 0;
  if (ms > 0) return ms;
  const seconds = Number(event.createdAt);
  return seconds > 0 ? seconds * 1000 : now;
}

export function createCallState(deps: CallStateDeps): CallState {
  const log = deps.log.child({ component: "calls" });
  const now = deps.now ?? Date.now;
  const store = createCallStore(deps.db);
  const effects = createCallEffects({ ...deps, store, log, now });

  let tail: Promise<unknown> = Promise.resolve();
  const serialize = <T>(work: () => Promise<T>): Promise<T> => {
    const run = tail.then(work, work);
    tail = run.catch(() => undefined);
    return run;
  };

  let draining: Promise<void> = Promise.resolve();
  const drain = (): void => {
    draining = effects.drain().catch((err: unknown) => log.error("call effects failed", { err }));
  };

  const sweep = async (): Promise<void> => {
    const at = now();
    await serialize(() => deps.db.transaction((trx) => callTracker(createCallStore(trx), log, deps.language).sweep(at)));
    await store.forgetWebhooksBefore(at - WEBHOOK_IDS_KEPT_MS);
    if (deps.retention !== undefined) {
      const pruned = await pruneOld(deps.db, deps.retention, at);
      if (pruned.transactions + pruned.effects + pruned.identities > 0) log.info("pruned", { ...pruned });
    }
  };
  // The reconciler: what the state says against what LiveKit holds, for every active call, so that
  // a webhook LiveKit never delivered or an effect lost with a crash is made good within a period.
  const transcription = deps.transcription;
  let reconciledAt = Number.NEGATIVE_INFINITY;
  /**
   * When each open connection was first found missing from LiveKit. A connection missing at two
   * reconciles in a row has left, at the first of them: one missing once may have its participant_left
   * webhook on its way (LiveKit forgets the connection, then sends it), and that webhook's time is the
   * true one.
   */
  const missingSince = new Map<string, number>();
  /** The open connections one reconcile looked at: the others are forgotten from missingSince after it. */
  const looked = new Set<string>();
  /** Connections LiveKit no longer has (their participant_left lost, say while this process was down): left. */
  const reconcileConnections = async (call: Call): Promise<void> => {
    const livekit = deps.livekit;
    if (!livekit) return;
    const at = now();
    const open = (await store.openPresences(call.id)).filter((p) => p.source === "livekit" && p.livekitRoom !== null && p.joinedAt < at - NEW_CONNECTION_MS);
    for (const livekitRoom of new Set(open.map((p) => String(p.livekitRoom)))) {
      const present = new Set((await participantsOf(livekit, livekitRoom)).map((p) => p.sid));
      const inRoom = open.filter((p) => p.livekitRoom === livekitRoom);
      for (const p of inRoom) looked.add(p.key);
      for (const p of inRoom) if (present.has(p.key)) missingSince.delete(p.key);
      const missing = inRoom.filter((p) => !present.has(p.key));
      const gone = missing.filter((p) => missingSince.has(p.key));
      for (const p of missing) if (!missingSince.has(p.key)) missingSince.set(p.key, at);
      if (gone.length === 0) continue;
      log.warn("LiveKit no longer has these connections: they left", { roomId: call.roomId, livekitRoom, connections: gone.length });
      await serialize(() =>
        deps.db.transaction(async (trx) => {
          const tracker = callTracker(createCallStore(trx), log, deps.language);
          for (const p of gone) await tracker.liveKitLeft({ livekitRoom, identity: String(p.identity), sid: p.key, at: missingSince.get(p.key) ?? at });
        }),
      );
      for (const p of gone) missingSince.delete(p.key);
    }
  };
  const reconcileTranscription = async (call: Call): Promise<void> => {
    if (transcription === undefined) return;
    const effects = await transcription.reconcile(call.roomId);
    if (effects.length === 0) return;
    await serialize(() =>
      deps.db.transaction(async (trx) => {
        const txStore = createCallStore(trx);
        for (const effect of effects) await txStore.enqueueEffect(effect, now());
      }),
    );
  };
  /**
   * Delegated leaves whose participant LiveKit does not have (it left before the delegation was
   * recorded, or never connected): sent now, as at a departure, rather than when the delay runs out.
   */
  const reconcileDelegatedLeaves = async (): Promise<void> => {
    const livekit = deps.livekit;
    if (!livekit) return;
    const at = now();
    const leaves = await store.delegatedLeavesBefore(at - UNCONNECTED_DELEGATION_MS, 1000);
    for (const livekitRoom of new Set(leaves.map((l) => l.livekitRoom))) {
      const present = new Set((await participantsOf(livekit, livekitRoom)).map((p) => p.identity));
      const gone = leaves.filter((l) => l.livekitRoom === livekitRoom && !present.has(l.identity));
      if (gone.length === 0) continue;
      log.info("delegated leaves of participants LiveKit does not have: sent", { livekitRoom, leaves: gone.length });
      await serialize(() =>
        deps.db.transaction(async (trx) => {
          const txStore = createCallStore(trx);
          for (const l of gone) {
            // Taken again inside the transaction: a departure may have sent it meanwhile.
            const leave = await txStore.takeDelegatedLeave(l.livekitRoom, l.identity);
            if (leave) await txStore.enqueueEffect(sendDelayedLeave(leave), at);
          }
        }),
      );
    }
  };
  const reconcile = async (): Promise<void> => {
    reconciledAt = now();
    looked.clear();
    try {
      await reconcileDelegatedLeaves();
    } catch (err) {
      log.warn("delegated leaves not reconciled", { err });
    }
    for (const call of await store.activeCalls()) {
      try {
        await reconcileConnections(call);
        await reconcileTranscription(call);
      } catch (err) {
        log.warn("call not reconciled", { roomId: call.roomId, err });
      }
    }
    // Closed by their webhook meanwhile, or their call ended.
    for (const key of missingSince.keys()) if (!looked.has(key)) missingSince.delete(key);
  };

  const tick = async (): Promise<void> => {
    await sweep();
    if (now() - reconciledAt >= (deps.reconcileMs ?? 60_000)) await reconcile();
    drain();
    await draining;
  };

  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> | undefined;

  return {
    async applyInputs(trx, inputs) {
      const tracker = callTracker(createCallStore(trx), log, deps.language);
      for (const input of inputs) await tracker.apply(input);
    },
    serialize,
    applyWebhook(event) {
      const at = webhookTime(event, now());
      return serialize(() =>
        deps.db.transaction(async (trx): Promise<WebhookOutcome> => {
          const txStore = createCallStore(trx);
          if (!(await txStore.markWebhookSeen(event.id, event.event, now()))) return "duplicate";
          const tracker = callTracker(txStore, log, deps.language);
          const livekitRoom = event.room?.name ?? "";
          const participant = event.participant;
          switch (event.event) {
            case "participant_joined":
              if (!participant) return "ignored";
              await tracker.liveKitJoined({ livekitRoom, identity: participant.identity, sid: participant.sid, at });
              return "handled";
            case "participant_left":
            case "participant_connection_aborted":
              if (!participant) return "ignored";
              await tracker.liveKitLeft({
                livekitRoom,
                identity: participant.identity,
                sid: participant.sid,
                at,
                transcriber: isTranscriberParticipant(participant),
                disconnectReason: participant.disconnectReason,
              });
              return "handled";
            case "room_finished":
              await tracker.liveKitRoomFinished(livekitRoom, at);
              return "handled";
            case "room_started": {
              // The call starts with its first participant; a room started again (LiveKit restarted)
              // ends what was left of the participants it lost.
              const createdMs = Number(event.room?.creationTimeMs ?? 0n) || Number(event.room?.creationTime ?? 0n) * 1000;
              if (createdMs === 0) return "ignored";
              await tracker.liveKitRoomStarted(livekitRoom, createdMs);
              return "handled";
            }
            default:
              return "ignored";
          }
        }),
      ).finally(drain);
    },
    recordIdentity: (identity) => store.recordIdentity(identity),
    afterCommit: drain,
    async start() {
      await sweep();
      // In the background: the homeserver may not be up yet, and the timer retries anyway; the
      // first tick reconciles.
      drain();
      timer = setInterval(() => {
        ticking ??= tick()
          .catch((err: unknown) => log.error("call state check failed", { err }))
          .finally(() => {
            ticking = undefined;
          });
      }, deps.tickMs ?? 10_000);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await ticking;
      await tail;
      // Effects not run yet stay in the database for the next start.
      await draining;
    },
  };
}
