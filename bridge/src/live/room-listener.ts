// The bridge inside a call: a hidden LiveKit participant that subscribes to every microphone track
// (present at join or published later) and hands over each one's audio as 16 kHz mono frames; what
// becomes of them (transcription, subtitles) is the job's. The LiveKit room it joins is given to it.
import { AudioStream, DisconnectReason, RoomEvent, TrackKind, TrackSource } from "@livekit/rtc-node";
import type { AudioFrame, RemoteParticipant, RemoteTrack, RemoteTrackPublication, Room } from "@livekit/rtc-node";
import { STT_SAMPLE_RATE } from "../stt/engine.ts";
import type { ParticipantInfo } from "./speaker.ts";
import { AUDIO_FRAME_MS } from "./speaker-pipelines.ts";
import type { TextSender } from "./subtitle-publisher.ts";

export type ListenerEvent =
  | { event: "connected"; room: string; identity: string }
  | { event: "subscribed"; trackSid: string; participant: string; speaker: string }
  | { event: "track-closed"; trackSid: string }
  | { event: "subtitle"; trackSid: string; segmentId: string; final: boolean; startMs: number; endMs: number }
  | { event: "posted"; eventId: string; final: boolean; speaker: string; startMs: number; endMs: number }
  | { event: "error"; message: string }
  | { event: "disconnected"; reason: string };

/** What a call listener tells the job, as it happens. */
export interface CallHandlers {
  /** A microphone track to transcribe, and who speaks on it; its audio follows. */
  trackOpened(trackSid: string, participant: ParticipantInfo): void;
  /** 16 kHz mono samples of an opened track. */
  audio(trackSid: string, pcm: Int16Array): void;
  /** The track ended or its participant left: no more audio of it. */
  trackEnded(trackSid: string): void;
  /** A participant joined (its tracks follow): a chance to look up its name before it speaks. */
  participant(participant: ParticipantInfo): void;
  /** A data packet; fromServer when the server API sent it (no participant did). */
  data(payload: Uint8Array, topic: string | undefined, fromServer: boolean): void;
  /** The room connection ended without close() asking for it. */
  disconnected(reason: DisconnectReason): void;
  report(event: ListenerEvent): void;
}

/** A job's presence in its call (RoomListener; a fake in unit tests). */
export interface CallListener {
  /** Joins the room; resolves with what sends the subtitles once joined (tracks follow as handler calls). */
  connect(url: string, token: string, handlers: CallHandlers): Promise<TextSender>;
  /** Stops the audio and leaves the room. */
  close(): Promise<void>;
}

export interface RoomListenerOptions {
  /**
   * How long the connection may stay "reconnecting" before the room is left as lost (default 20 s):
   * a LiveKit server that restarted has forgotten the room and this job, and a job that hangs on
   * keeps the worker's slot from the dispatch that follows.
   */
  reconnectTimeoutMs?: number;
}

const RECONNECT_TIMEOUT_MS = 20_000;

const participantInfo = (p: RemoteParticipant): ParticipantInfo => ({ identity: p.identity, name: p.name, attributes: p.attributes });

export class RoomListener implements CallListener {
  #room: Room;
  #options: RoomListenerOptions;
  #handlers: CallHandlers | undefined;
  #readers = new Map<string, ReadableStreamDefaultReader<AudioFrame>>();
  #connected = false;
  #closingRoom = false;
  #reconnectTimer: NodeJS.Timeout | undefined;

  constructor(room: Room, options: RoomListenerOptions = {}) {
    this.#room = room;
    this.#options = options;
  }

  async connect(url: string, token: string, handlers: CallHandlers): Promise<TextSender> {
    if (this.#handlers !== undefined) throw new Error("a room listener joins one room once");
    this.#handlers = handlers;
    const room = this.#room;
    room.on(RoomEvent.TrackSubscribed, (track, publication, participant) => this.#subscribed(track, publication, participant));
    room.on(RoomEvent.TrackUnsubscribed, (track) => this.#closeTrack(track.sid));
    room.on(RoomEvent.ParticipantDisconnected, (participant) => {
      for (const sid of participant.trackPublications.keys()) this.#closeTrack(sid);
    });
    room.on(RoomEvent.ParticipantConnected, (participant) => handlers.participant(participantInfo(participant)));
    room.on(RoomEvent.DataReceived, (payload, participant, _kind, topic) => handlers.data(payload, topic, participant === undefined));
    room.on(RoomEvent.Disconnected, (reason) => {
      this.#connected = false;
      clearTimeout(this.#reconnectTimer);
      handlers.report({ event: "disconnected", reason: DisconnectReason[reason] ?? String(reason) });
      if (!this.#closingRoom) handlers.disconnected(reason);
    });
    room.on(RoomEvent.Reconnecting, () => {
      clearTimeout(this.#reconnectTimer);
      this.#reconnectTimer = setTimeout(() => this.#giveUpReconnecting(), this.#options.reconnectTimeoutMs ?? RECONNECT_TIMEOUT_MS);
    });
    room.on(RoomEvent.Reconnected, () => clearTimeout(this.#reconnectTimer));
    await room.connect(url, token, { autoSubscribe: true, dynacast: false });
    this.#connected = true;
    for (const participant of room.remoteParticipants.values()) handlers.participant(participantInfo(participant));
    const local = room.localParticipant;
    if (local === undefined) throw new Error("connected without a local participant");
    handlers.report({ event: "connected", room: room.name ?? "", identity: local.identity });
    return local;
  }

  /** Still reconnecting after the bound: the room is lost, the job ends ("left") and close() leaves it. */
  #giveUpReconnecting(): void {
    if (this.#closingRoom || !this.#connected) return;
    this.#connected = false;
    this.#closingRoom = true;
    this.#handlers?.report({ event: "disconnected", reason: "RECONNECT_TIMEOUT" });
    this.#handlers?.disconnected(DisconnectReason.UNKNOWN_REASON);
  }

  async close(): Promise<void> {
    clearTimeout(this.#reconnectTimer);
    for (const sid of [...this.#readers.keys()]) this.#closeTrack(sid);
    this.#closingRoom = true;
    await this.#room.disconnect();
  }

  #subscribed(track: RemoteTrack, publication: RemoteTrackPublication, participant: RemoteParticipant): void {
    const sid = track.sid;
    if (track.kind !== TrackKind.KIND_AUDIO || publication.source !== TrackSource.SOURCE_MICROPHONE || sid === undefined) return;
    if (this.#readers.has(sid)) return;
    const reader = new AudioStream(track, { sampleRate: STT_SAMPLE_RATE, numChannels: 1, frameSizeMs: AUDIO_FRAME_MS }).getReader();
    this.#readers.set(sid, reader);
    this.#handlers?.trackOpened(sid, participantInfo(participant));
    void this.#read(sid, reader);
  }

  async #read(sid: string, reader: ReadableStreamDefaultReader<AudioFrame>): Promise<void> {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        this.#handlers?.audio(sid, value.data);
      }
    } catch (err) {
      this.#handlers?.report({ event: "error", message: `track ${sid}: ${err instanceof Error ? err.message : String(err)}` });
    }
    this.#closeTrack(sid);
  }

  #closeTrack(sid: string | undefined): void {
    if (sid === undefined) return;
    const reader = this.#readers.get(sid);
    if (reader === undefined) return;
    this.#readers.delete(sid);
    void reader.cancel().catch(() => undefined);
    this.#handlers?.trackEnded(sid);
  }
}
