// Says so in the transcript thread when transcript messages could not be posted (the homeserver
// refused them or stayed unreachable through the client's retries): once the next message goes
// through, one notice with how many were lost and why. The transcript files posted at the end still
// have every utterance, since they are written from what was transcribed, not from the thread.
import { TRANSCRIPT_LOST_MESSAGES_KEY } from "../../../config/wire-types.ts";
import { transcriptTexts } from "../transcript/transcript-texts.ts";
import type { MatrixEventSender } from "./transcript-poster.ts";
import { threadRelation } from "./transcript-poster.ts";

export interface LostMessagesNoticeOptions {
  sender: MatrixEventSender;
  roomId: string;
  threadRoot: string;
  /** Makes the notices' transaction IDs unique to this job. */
  sessionId: string;
  /** The meeting's language: the notice is in it. */
  language: string;
  onError(err: Error): void;
}

export class LostMessagesNotice {
  #options: LostMessagesNoticeOptions;
  #lost = 0;
  #reason = "";
  #notices = 0;
  #sending: Promise<void> = Promise.resolve();

  constructor(options: LostMessagesNoticeOptions) {
    this.#options = options;
  }

  /** A transcript message could not be posted. */
  failed(err: Error): void {
    this.#lost += 1;
    this.#reason = err.message;
  }

  /** A transcript message was posted: the thread is reachable again, and is told what it missed. */
  posted(): void {
    if (this.#lost === 0) return;
    const lost = this.#lost;
    const reason = this.#reason;
    this.#lost = 0;
    this.#notices += 1;
    const { sender, roomId, threadRoot, sessionId, language } = this.#options;
    const content = {
      msgtype: "m.notice",
      body: transcriptTexts(language).messagesLost(lost, reason),
      "m.relates_to": threadRelation(threadRoot),
      [TRANSCRIPT_LOST_MESSAGES_KEY]: { lost_messages: lost, reason },
    };
    const txnId = `visio-transcript.${sessionId}.lost.${this.#notices}`;
    this.#sending = this.#sending.then(async () => {
      try {
        await sender.sendEvent(roomId, "m.room.message", content, txnId);
      } catch (err) {
        this.#options.onError(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  /** Resolves once every notice asked for was sent (or failed). */
  flush(): Promise<void> {
    return this.#sending;
  }
}
