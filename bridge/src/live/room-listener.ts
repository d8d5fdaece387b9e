// The bridge inside a call: a hidden LiveKit participant that subscribes to every microphone track
// (present at join or published later), resamples each to 16 kHz mono and feeds the track's
// transcription pipeline; subtitles go back to the room as `lk.transcription` text streams.
import { AudioStream, DisconnectReason, Room, RoomEvent, TrackKind, TrackSource } from "@livekit/rtc-node";
import type { AudioFrame, RemoteParticipant, RemoteTrack, RemoteTrackPublication } from "@livekit/rtc-node";
import { STT_SAMPLE_RATE, type SttEngine } from "../stt/engine.ts";
import type { EnergyVadOptions } from "../transcript/energy-vad.ts";
import type { TranscriptSegment } from "../transcript/segment.ts";
import { speakerResolver, type ParticipantInfo, type SpeakerResolver } from "./speaker.ts";
import { AUDIO_FRAME_MS, SpeakerPipelines } from "./speaker-pipelines.ts";
import { SubtitlePublisher } from "./subtitle-publisher.ts";

export type ListenerEvent =
  | { event: "connected"; room: string; identity: string }
  | { event: "subscribed"; trackSid: string; participant: string; speaker: string }
  | { event: "track-closed"; trackSid: string }
  | { event: "subtitle"; trackSid: string; segmentId: string; final: boolean; startMs: number; endMs: number }
  | { event: "posted"; eventId: string; final: boolean; speaker: string; startMs: number; endMs: number }
  | { event: "error"; message: string }
  | { event: "disconnected"; reason: string };

export interface RoomListenerOptions {
  engine: SttEngine;
  language?: string;
  vad?: Partial<EnergyVadOptions>;
  speakerOf?: SpeakerResolver;
  /** Milliseconds on the clock of startedAt. */
  now(): number;
  /**
   * How long the connection may stay "reconnecting" before the room is left as lost (default 20 s):
   * a LiveKit server that restarted has forgotten the room and this job, and a job that hangs on
   * keeps the worker's slot from the dispatch that follows.
   */
  reconnectTimeoutMs?: number;
  /** When transcription started, on the clock of now() (transcript times count from it); default: now. */
  startedAt?: number;
  report(event: ListenerEvent): void;
  /** Each segment version, besides its subtitle (the Matrix thread). */
  onSegment?(trackSid: string, segment: TranscriptSegment): void;
  /** A participant joined (its tracks follow): a chance to look up its name before it speaks. */
  onParticipant?(participant: ParticipantInfo): void;
  /** A data packet; fromServer when the server API sent it (no participant did). */
  onData?(payload: Uint8Array, topic: string | undefined, fromServer: boolean): void;
  /** The room connection ended without close() asking for it. */
  onDisconnected?(reason: DisconnectReason): void;
  /** Each utterance's outcome at once: decoded, or lost to an engine failure. */
  onUtterance?(trackSid: string, outcome: { ok: true } | { ok: false; error: Error }): void;
}

const RECONNECT_TIMEOUT_MS = 20_000;

const participantInfo = (p: RemoteParticipant): ParticipantInfo => ({ identity: p.identity, name: p.name, attributes: p.attributes });

export class RoomListener {
  #options: RoomListenerOptions;
  #room = new Room();
  #startedAt: number;
  #pipelines: SpeakerPipelines;
  #publisher: SubtitlePublisher | undefined;
  #readers = new Map<string, ReadableStreamDefaultReader<AudioFrame>>();
  #closing = new Set<Promise<void>>();
  #connected = false;
  #closingRoom = false;
  #reconnectTimer: NodeJS.Timeout | undefined;

  constructor(options: RoomListenerOptions) {
    this.#options = options;
    this.#startedAt = options.startedAt ?? options.now();
    this.#pipelines = new SpeakerPipelines({
      engine: options.engine,
      language: options.language,
      vad: options.vad,
      nowMs: () => options.now() - this.#startedAt,
      onSegment: (trackSid, segment) => this.#onSegment(trackSid, segment),
      onError: (trackSid, err) => options.report({ event: "error", message: `track ${trackSid}: ${err.message}` }),
      ...(options.onUtterance === undefined ? {} : { onUtterance: options.onUtterance }),
    });
  }

  /** Resolves once connected; subscriptions to the tracks already in the room follow as events. */
  async connect(url: string, token: string): Promise<void> {
    const room = this.#room;
    room.on(RoomEvent.TrackSubscribed, (track, publication, participant) => this.#subscribed(track, publication, participant));
    room.on(RoomEvent.TrackUnsubscribed, (track) => this.#closeTrack(track.sid));
    room.on(RoomEvent.ParticipantDisconnected, (participant) => {
      for (const sid of participant.trackPublications.keys()) this.#closeTrack(sid);
    });
    room.on(RoomEvent.ParticipantConnected, (participant) => this.#options.onParticipant?.(participantInfo(participant)));
    room.on(RoomEvent.DataReceived, (payload, participant, _kind, topic) => this.#options.onData?.(payload, topic, participant === undefined));
    room.on(RoomEvent.Disconnected, (reason) => {
      this.#connected = false;
      clearTimeout(this.#reconnectTimer);
      this.#options.report({ event: "disconnected", reason: DisconnectReason[reason] ?? String(reason) });
      if (!this.#closingRoom) this.#options.onDisconnected?.(reason);
    });
    room.on(RoomEvent.Reconnecting, () => {
      clearTimeout(this.#reconnectTimer);
      this.#reconnectTimer = setTimeout(() => this.#giveUpReconnecting(), this.#options.reconnectTimeoutMs ?? RECONNECT_TIMEOUT_MS);
    });
    room.on(RoomEvent.Reconnected, () => clearTimeout(this.#reconnectTimer));
    await room.connect(url, token, { autoSubscribe: true, dynacast: false });
    this.#connected = true;
    for (const participant of room.remoteParticipants.values()) this.#options.onParticipant?.(participantInfo(participant));
    const local = room.localParticipant;
    if (local === undefined) throw new Error("connected without a local participant");
    this.#publisher = new SubtitlePublisher({
      sender: local,
      onError: (err) => this.#options.report({ event: "error", message: `subtitle not sent: ${err.message}` }),
      onSent: (trackSid, segmentId, segment) =>
        this.#options.report({
          event: "subtitle",
          trackSid,
          segmentId,
          final: segment.final,
          startMs: Math.round(segment.startMs),
          endMs: Math.round(segment.endMs),
        }),
    });
    this.#options.report({ event: "connected", room: room.name ?? "", identity: local.identity });
  }

  /** Still reconnecting after the bound: the room is lost, the job ends ("left") and close() leaves it. */
  #giveUpReconnecting(): void {
    if (this.#closingRoom || !this.#connected) return;
    this.#connected = false;
    this.#closingRoom = true;
    this.#options.report({ event: "disconnected", reason: "RECONNECT_TIMEOUT" });
    this.#options.onDisconnected?.(DisconnectReason.UNKNOWN_REASON);
  }

  /**
   * Leaves the room after every open utterance has had its final segment (and, while still connected,
   * its final subtitle sent).
   */
  async close(): Promise<void> {
    clearTimeout(this.#reconnectTimer);
    for (const sid of [...this.#readers.keys()]) this.#closeTrack(sid);
    await Promise.all(this.#closing);
    await this.#pipelines.closeAll();
    await this.#publisher?.flush();
    this.#closingRoom = true;
    await this.#room.disconnect();
  }

  #subscribed(track: RemoteTrack, publication: RemoteTrackPublication, participant: RemoteParticipant): void {
    const sid = track.sid;
    if (track.kind !== TrackKind.KIND_AUDIO || publication.source !== TrackSource.SOURCE_MICROPHONE || sid === undefined) return;
    if (this.#readers.has(sid)) return;
    const speakerOf = this.#options.speakerOf ?? speakerResolver();
    const speaker = speakerOf(participantInfo(participant));
    this.#pipelines.open(sid, speaker);
    const reader = new AudioStream(track, { sampleRate: STT_SAMPLE_RATE, numChannels: 1, frameSizeMs: AUDIO_FRAME_MS }).getReader();
    this.#readers.set(sid, reader);
    this.#options.report({ event: "subscribed", trackSid: sid, participant: participant.identity, speaker: speaker.id });
    void this.#read(sid, reader);
  }

  async #read(sid: string, reader: ReadableStreamDefaultReader<AudioFrame>): Promise<void> {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        this.#pipelines.push(sid, value.data);
      }
    } catch (err) {
      this.#options.report({ event: "error", message: `track ${sid}: ${err instanceof Error ? err.message : String(err)}` });
    }
    this.#closeTrack(sid);
  }

  #closeTrack(sid: string | undefined): void {
    if (sid === undefined) return;
    const reader = this.#readers.get(sid);
    if (reader === undefined) return;
    this.#readers.delete(sid);
    void reader.cancel().catch(() => undefined);
    const closing = this.#pipelines.close(sid).then(() => this.#options.report({ event: "track-closed", trackSid: sid }));
    this.#closing.add(closing);
    void closing.finally(() => this.#closing.delete(closing));
  }

  #onSegment(trackSid: string, segment: TranscriptSegment): void {
    // Tracks are only subscribed once connected, so the publisher is there; send failures are reported by
    // it. Once the room is gone (the call ended), the last finals still go to the thread, not as subtitles.
    if (this.#connected) void this.#publisher?.publish(trackSid, segment);
    this.#options.onSegment?.(trackSid, segment);
  }
}
