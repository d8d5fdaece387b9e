// The bots' notices (calls, transcription) read from their machine-readable fields, so that each
// viewer reads them in their own language whatever the server's; a notice without known fields keeps
// its body. Pure: the model and the wording are unit tested without a browser.
import {
  CALL_NOTICE_KEY,
  TRANSCRIBER_NOTICE_KEY,
  TRANSCRIPT_LOST_MESSAGES_KEY,
  TRANSCRIPT_OUTAGE_KEY,
  TRANSCRIPT_SESSION_KEY,
  TRANSCRIPTION_STATE_EVENT,
  type CallNoticeFields,
  type TranscriberNoticeFields,
  type TranscriptLostMessagesFields,
  type TranscriptOutageFields,
  type TranscriptSessionFields,
  type TranscriptionStateContent,
} from "../../../config/wire-types.ts";
import type { Translate } from "../i18n/index.ts";

export type BotNotice =
  | { kind: "callStarted" }
  | { kind: "callEnded"; participants: number; durationMs: number }
  | { kind: "transcriptionStarted"; language: string }
  | { kind: "transcriptionStopped" }
  /** A worker had no model for the meeting's language: in its thread, and as the stop that followed. */
  | { kind: "transcriptionRefused"; server: string; language: string }
  | { kind: "transcriptionRefusedStopped"; server: string }
  | { kind: "transcriberWaiting"; server: string; recording: boolean }
  | { kind: "transcriberRunning"; server: string; recording: boolean }
  | { kind: "engineInterrupted"; engine: string }
  | { kind: "engineResumed"; lost: number }
  | { kind: "messagesLost"; lost: number };

function objectAt<T>(content: Record<string, unknown>, key: string): Partial<T> | undefined {
  const value = content[key];
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Partial<T>) : undefined;
}

const count = (value: unknown): number | undefined => (typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : undefined);

/** The notice a message's fields describe, or undefined when it carries none that we word. */
export function botNoticeOf(content: Record<string, unknown>): BotNotice | undefined {
  if (content.msgtype !== "m.notice") return undefined;
  const call = objectAt<CallNoticeFields>(content, CALL_NOTICE_KEY);
  if (call?.state === "started") return { kind: "callStarted" };
  if (call?.state === "ended") {
    const participants = count(call.participants);
    const durationMs = count(call.duration_ms);
    return participants === undefined || durationMs === undefined ? undefined : { kind: "callEnded", participants, durationMs };
  }
  const worker = objectAt<TranscriberNoticeFields>(content, TRANSCRIBER_NOTICE_KEY);
  if (worker !== undefined && typeof worker.server_name === "string") {
    const server = worker.server_name;
    const recording = worker.recording === true;
    if (worker.state === "refused") {
      if (content[TRANSCRIPTION_STATE_EVENT] !== undefined) return { kind: "transcriptionRefusedStopped", server };
      return { kind: "transcriptionRefused", server, language: typeof worker.language === "string" ? worker.language : "" };
    }
    if (worker.state === "waiting") return { kind: "transcriberWaiting", server, recording };
    if (worker.state === "running") return { kind: "transcriberRunning", server, recording };
  }
  const session = objectAt<TranscriptSessionFields>(content, TRANSCRIPT_SESSION_KEY);
  if (session !== undefined && typeof session.language === "string") return { kind: "transcriptionStarted", language: session.language };
  const state = objectAt<TranscriptionStateContent>(content, TRANSCRIPTION_STATE_EVENT);
  if (state?.active === false) return { kind: "transcriptionStopped" };
  const outage = objectAt<TranscriptOutageFields>(content, TRANSCRIPT_OUTAGE_KEY);
  if (outage?.state === "interrupted" && typeof outage.engine === "string") return { kind: "engineInterrupted", engine: outage.engine };
  if (outage?.state === "resumed") return { kind: "engineResumed", lost: count(outage.lost_utterances) ?? 0 };
  const lost = count(objectAt<TranscriptLostMessagesFields>(content, TRANSCRIPT_LOST_MESSAGES_KEY)?.lost_messages);
  if (lost !== undefined) return { kind: "messagesLost", lost };
  return undefined;
}

/** "< 1 min", "42 min", "1 h 05 min": the same steps as the bot's own notices. */
export function durationText(ms: number, t: Translate): string {
  const minutes = Math.round(ms / 60_000);
  if (ms < 60_000 || minutes < 1) return t("notice.durationUnderMinute");
  if (minutes < 60) return t("notice.durationMinutes", { count: minutes });
  return t("notice.durationHours", { hours: Math.floor(minutes / 60), minutes: String(minutes % 60).padStart(2, "0") });
}

/** A language tag in the viewer's language ("fr" → "French" for an English reader), the tag itself when unknown. */
function languageName(tag: string, locale: string): string {
  if (tag === "" || tag === "und") return tag;
  try {
    return new Intl.DisplayNames([locale], { type: "language" }).of(tag) ?? tag;
  } catch {
    return tag;
  }
}

/** The notice in the viewer's words. */
export function botNoticeText(notice: BotNotice, t: Translate, locale: string): string {
  switch (notice.kind) {
    case "callStarted":
      return t("notice.callStarted");
    case "callEnded":
      return t("notice.callEnded", { participants: t("notice.participants", { count: notice.participants }), duration: durationText(notice.durationMs, t) });
    case "transcriptionStarted":
      return t("notice.transcriptionStarted");
    case "transcriptionStopped":
      return t("notice.transcriptionStopped");
    case "transcriptionRefused":
      return t("notice.transcriptionRefused", { server: notice.server, language: languageName(notice.language, locale) });
    case "transcriptionRefusedStopped":
      return t("notice.transcriptionRefusedStopped", { server: notice.server });
    case "transcriberWaiting":
      return t(notice.recording ? "notice.transcriberWaitingRecording" : "notice.transcriberWaiting", { server: notice.server });
    case "transcriberRunning":
      return t(notice.recording ? "notice.transcriberRunningRecording" : "notice.transcriberRunning", { server: notice.server });
    case "engineInterrupted":
      return t("notice.engineInterrupted", { engine: notice.engine });
    case "engineResumed":
      return t("notice.engineResumed", { count: notice.lost });
    case "messagesLost":
      return t("notice.messagesLost", { count: notice.lost });
  }
}
