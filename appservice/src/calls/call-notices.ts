// The bot's timeline notices for a call: one when it starts, one when it ends, nothing in between; in
// the server's language (French or English), the fields beside them for clients.
import { CALL_NOTICE_KEY, type CallNoticeContent } from "../../../config/wire-types.ts";
import { isFrench } from "../transcription/transcription-texts.ts";
import type { Call } from "./call-store.ts";

/** "42 min", "1 h 05 min"; under a minute is "< 1 min" rather than a misleading "0 min". */
export function formatDuration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (ms < 60_000 || minutes < 1) return "< 1 min";
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

export function callStartedNotice(call: Call, language: string): CallNoticeContent {
  return {
    msgtype: "m.notice",
    body: isFrench(language) ? "Appel démarré" : "Call started",
    [CALL_NOTICE_KEY]: { call_id: call.id, state: "started", started_at: call.startedAt },
  };
}

export function callEndedNotice(call: Call & { endedAt: number }, participantIds: readonly string[], language: string): CallNoticeContent {
  const durationMs = Math.max(0, call.endedAt - call.startedAt);
  const n = participantIds.length;
  // French counts 0 and 1 as singular ("0 participant"), English only 1.
  const plural = isFrench(language) ? n > 1 : n !== 1;
  return {
    msgtype: "m.notice",
    body: `${isFrench(language) ? "Appel terminé" : "Call ended"} · ${n} participant${plural ? "s" : ""} · ${formatDuration(durationMs)}`,
    [CALL_NOTICE_KEY]: {
      call_id: call.id,
      state: "ended",
      started_at: call.startedAt,
      ended_at: call.endedAt,
      duration_ms: durationMs,
      participants: n,
      participant_ids: [...participantIds],
    },
  };
}

/** Same call and kind, same transaction ID: a retried send is one message in the room. */
export const noticeTxnId = (callId: string, state: "started" | "ended"): string => `visio-call-${callId}-${state}`;
