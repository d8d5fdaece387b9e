// The chat command `!transcribe start [language]` / `!transcribe stop`, seen in the appservice's
// transactions: the sender is authenticated by their homeserver, so the command takes the same path as
// the HTTP API from there. Refusals are answered with a short m.notice reply; a start or stop shows
// itself (the "Transcription started" / "stopped" notices and the room state). Replies are in the
// server's language. The transactions also
// bring the bridge's own refusal of a session (its worker has no model for the meeting's language):
// that session is stopped.
import { TRANSCRIBER_NOTICE_KEY, type RoomEvent, type TranscriberNoticeFields } from "../../../config/wire-types.ts";
import { MatrixError } from "../errors.ts";
import type { HomeserverClient } from "../homeserver-client.ts";
import type { Logger } from "../log.ts";
import { failureReply, refusalReply } from "./command-texts.ts";
import type { TranscriptionControl } from "./transcription-control.ts";
import { COMMAND_PREFIX, parseTranscribeCommand, withoutReplyFallback, type TranscribeCommand } from "./transcription-requests.ts";

export interface TranscriptionCommands {
  /**
   * Runs the commands among a handled transaction's events, in order, after the answer to the
   * homeserver; resolves when they are done (tests wait on it).
   */
  handle(events: readonly RoomEvent[]): Promise<void>;
}

export interface TranscriptionCommandsDeps {
  control: TranscriptionControl;
  homeserver: Pick<HomeserverClient, "sendMessage">;
  /** Meetings this appservice only follows: their own appservice answers there. */
  hostsRoom(roomId: string): Promise<boolean>;
  /** The bot and the bridge's user: their own messages are never commands. */
  ownUsers: readonly string[];
  /** The bridge's user: its refusal notices stop their session. */
  bridgeUserId: string;
  /** The server's language: the replies are in it. */
  language: string;
  log: Logger;
}

/** The command an event carries, if it is a plain text message that starts with the prefix. */
function commandEvent(event: RoomEvent, ownUsers: ReadonlySet<string>): { event: RoomEvent; body: string; inReplyTo?: string } | null {
  if (event.type !== "m.room.message" || ownUsers.has(event.sender)) return null;
  const { msgtype, body } = event.content;
  // Edits (m.replace) repeat the body: only the original message is a command.
  const relation = event.content["m.relates_to"] as { rel_type?: unknown; "m.in_reply_to"?: { event_id?: unknown } } | undefined;
  if (msgtype !== "m.text" || typeof body !== "string" || relation?.rel_type === "m.replace") return null;
  if (!withoutReplyFallback(body).trimStart().toLowerCase().startsWith(COMMAND_PREFIX)) return null;
  const inReplyTo = relation?.["m.in_reply_to"]?.event_id;
  return typeof inReplyTo === "string" ? { event, body, inReplyTo } : { event, body };
}

/** The session root a refusal notice of the bridge names, if the event is one. */
function refusedSession(event: RoomEvent, bridgeUserId: string): string | null {
  if (event.type !== "m.room.message" || event.sender !== bridgeUserId) return null;
  const fields = event.content[TRANSCRIBER_NOTICE_KEY] as Partial<TranscriberNoticeFields> | undefined;
  const relation = event.content["m.relates_to"] as { rel_type?: unknown; event_id?: unknown } | undefined;
  if (fields?.state !== "refused" || relation?.rel_type !== "m.thread" || typeof relation.event_id !== "string") return null;
  return relation.event_id;
}

const replyTo = (event: RoomEvent, text: string): Record<string, unknown> => ({
  msgtype: "m.notice",
  body: text,
  "m.relates_to": { "m.in_reply_to": { event_id: event.event_id } },
});

export function createTranscriptionCommands(deps: TranscriptionCommandsDeps): TranscriptionCommands {
  const ownUsers = new Set(deps.ownUsers);
  const log = deps.log.child({ component: "transcription" });
  let tail: Promise<void> = Promise.resolve();

  const reply = async (event: RoomEvent, text: string): Promise<void> => {
    // The txnId comes from the command: a retried reply is one message.
    await deps.homeserver.sendMessage(event.room_id, `visio-transcribe-reply-${event.event_id}`, replyTo(event, text));
  };

  const run = async (event: RoomEvent, body: string, inReplyTo: string | undefined): Promise<void> => {
    if (!(await deps.hostsRoom(event.room_id))) return;
    let command: TranscribeCommand | null = null;
    try {
      command = parseTranscribeCommand(body, inReplyTo);
      if (command === null) return;
      if (command.action === "recording") {
        // The notice in the recording's thread answers it.
        await deps.control.transcribeRecording({
          roomId: event.room_id,
          userId: event.sender,
          eventId: command.eventId,
          ...(command.language !== undefined ? { language: command.language } : {}),
        });
        return;
      }
      await deps.control.control({
        roomId: event.room_id,
        userId: event.sender,
        action: command.action,
        ...(command.action === "start" && command.language !== undefined ? { language: command.language } : {}),
      });
    } catch (err) {
      const action = command?.action ?? "unknown";
      if (err instanceof MatrixError && err.status < 500) {
        log.info("transcription command refused", { roomId: event.room_id, userId: event.sender, errcode: err.errcode });
        await reply(event, refusalReply(deps.language, action, err));
        return;
      }
      log.error("transcription command failed", { roomId: event.room_id, userId: event.sender, err });
      await reply(event, failureReply(deps.language, action));
    }
  };

  return {
    handle(events) {
      const commands = events.flatMap((e) => commandEvent(e, ownUsers) ?? []);
      const refusals = events.flatMap((e) => {
        const root = refusedSession(e, deps.bridgeUserId);
        return root === null ? [] : [{ roomId: e.room_id, root }];
      });
      if (commands.length === 0 && refusals.length === 0) return tail;
      tail = tail.then(async () => {
        for (const { roomId, root } of refusals) {
          try {
            if (await deps.hostsRoom(roomId)) await deps.control.refusedByWorker(roomId, root);
          } catch (err) {
            log.error("refused transcription not stopped", { roomId, err });
          }
        }
        for (const { event, body, inReplyTo } of commands) {
          try {
            await run(event, body, inReplyTo);
          } catch (err) {
            log.error("transcription command reply failed", { roomId: event.room_id, err });
          }
        }
      });
      return tail;
    },
  };
}
