// A call listener for unit tests of a job: no LiveKit room; the test makes participants speak (their
// audio handed over in 10 ms frames, as rtc-node does), sends data, ends the call, and reads back the
// subtitles the job sent into the room.
import type { DisconnectReason } from "@livekit/rtc-node";
import { STT_SAMPLE_RATE } from "../../stt/engine.ts";
import type { CallHandlers, CallListener } from "../room-listener.ts";
import type { ParticipantInfo } from "../speaker.ts";
import { AUDIO_FRAME_MS } from "../speaker-pipelines.ts";
import type { TextSender } from "../subtitle-publisher.ts";

export interface SentSubtitle {
  text: string;
  topic: string;
  attributes: Record<string, string>;
}

const FRAME_SAMPLES = (STT_SAMPLE_RATE * AUDIO_FRAME_MS) / 1000;

export class FakeRoomListener implements CallListener {
  /** What connect() was given, once it was called. */
  joinedWith: { url: string; token: string } | undefined;
  closed = false;
  /** Every subtitle the job sent into the room, in order. */
  readonly subtitles: SentSubtitle[] = [];
  /** Resolves once the job has joined and taken the room's subtitle sender (as rtc-node, tracks come after). */
  readonly joined: Promise<void>;
  #handlers: CallHandlers | undefined;
  #open = new Set<string>();
  #resolveJoined!: () => void;

  constructor() {
    this.joined = new Promise((resolve) => {
      this.#resolveJoined = resolve;
    });
  }

  async connect(url: string, token: string, handlers: CallHandlers): Promise<TextSender> {
    if (this.#handlers !== undefined) throw new Error("a room listener joins one room once");
    this.joinedWith = { url, token };
    this.#handlers = handlers;
    handlers.report({ event: "connected", room: "fake-room", identity: "fake-bridge" });
    setImmediate(this.#resolveJoined);
    return {
      sendText: async (text, options) => {
        if (this.closed) throw new Error("the room is left");
        this.subtitles.push({ text, topic: options.topic, attributes: options.attributes });
      },
    };
  }

  /** The participant's microphone track says pcm (opened at its first words). */
  speak(trackSid: string, participant: ParticipantInfo, ...parts: Int16Array[]): void {
    const handlers = this.#joinedHandlers();
    if (!this.#open.has(trackSid)) {
      this.#open.add(trackSid);
      handlers.participant(participant);
      handlers.trackOpened(trackSid, participant);
    }
    for (const part of parts) {
      for (let at = 0; at < part.length; at += FRAME_SAMPLES) handlers.audio(trackSid, part.subarray(at, at + FRAME_SAMPLES));
    }
  }

  /** The track is unpublished, or its participant leaves. */
  endTrack(trackSid: string): void {
    if (this.#open.delete(trackSid)) this.#joinedHandlers().trackEnded(trackSid);
  }

  /** A data packet from LiveKit's server API (no participant sent it). */
  dataFromServer(payload: Uint8Array, topic: string): void {
    this.#joinedHandlers().data(payload, topic, true);
  }

  /** The room connection ends without the job asking (the call ended: ROOM_DELETED…). */
  disconnect(reason: DisconnectReason): void {
    this.#joinedHandlers().disconnected(reason);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const trackSid of [...this.#open]) this.endTrack(trackSid);
  }

  #joinedHandlers(): CallHandlers {
    if (this.#handlers === undefined) throw new Error("the job has not joined the room");
    return this.#handlers;
  }
}
