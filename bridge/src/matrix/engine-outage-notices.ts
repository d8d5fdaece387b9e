// Says so in the transcript thread when the speech-to-text engine fails during a call, and again when
// it is back: nothing says "transcribing" while nothing is transcribed. One notice per outage (not one
// per lost utterance), then one when an utterance is decoded again, with how many were lost. The
// notices are m.notice messages in the thread, with `org.visio.transcript.outage` fields for clients.
import { TRANSCRIPT_OUTAGE_KEY } from "../../../config/wire-types.ts";
import { transcriptTexts } from "../transcript/transcript-texts.ts";
import type { MatrixClient } from "./matrix-client.ts";
import { threadRelation } from "./transcript-poster.ts";

export interface EngineOutageNoticesOptions {
  sender: Pick<MatrixClient, "sendEvent">;
  roomId: string;
  threadRoot: string;
  /** Makes the notices' transaction IDs unique to this job. */
  sessionId: string;
  engineName: string;
  /** The meeting's language: the notices are in it (French or English). */
  language: string;
  onError(err: Error): void;
  onNotice?(kind: "interrupted" | "resumed", lost: number): void;
}

export class EngineOutageNotices {
  #options: EngineOutageNoticesOptions;
  #down = false;
  #lost = 0;
  #outages = 0;
  #sending: Promise<void> = Promise.resolve();

  constructor(options: EngineOutageNoticesOptions) {
    this.#options = options;
  }

  /** An utterance could not be transcribed. */
  failed(error: Error): void {
    this.#lost++;
    if (this.#down) return;
    this.#down = true;
    this.#outages++;
    // The reason names the engine's server and status, never what was said.
    this.#send("interrupted", { body: transcriptTexts(this.#options.language).interrupted(this.#options.engineName, error.message) });
  }

  /** An utterance was transcribed. */
  succeeded(): void {
    if (!this.#down) return;
    this.#down = false;
    const lost = this.#lost;
    this.#lost = 0;
    this.#send("resumed", { body: transcriptTexts(this.#options.language).resumed(lost), lost });
  }

  /** Resolves once every notice asked for was sent (or failed). */
  flush(): Promise<void> {
    return this.#sending;
  }

  #send(kind: "interrupted" | "resumed", fields: { body: string; lost?: number }): void {
    const { sender, roomId, threadRoot, sessionId } = this.#options;
    const content = {
      msgtype: "m.notice",
      body: fields.body,
      "m.relates_to": threadRelation(threadRoot),
      [TRANSCRIPT_OUTAGE_KEY]: { state: kind, engine: this.#options.engineName, ...(fields.lost === undefined ? {} : { lost_utterances: fields.lost }) },
    };
    const txnId = `visio-transcript.${sessionId}.outage.${this.#outages}.${kind}`;
    this.#sending = this.#sending.then(async () => {
      try {
        await sender.sendEvent(roomId, "m.room.message", content, txnId);
        this.#options.onNotice?.(kind, fields.lost ?? 0);
      } catch (err) {
        this.#options.onError(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }
}
