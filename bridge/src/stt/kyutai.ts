// Kyutai's streaming speech-to-text as an engine: one moshi-server websocket per stream
// (`kyutai-protocol.ts` has the wire format), interim results per word, one final once the end marker
// has come back.
import WebSocket from "ws";
import {
  STT_SAMPLE_RATE,
  SttEngineError,
  SttEngineNotReadyError,
  type SttEngine,
  type SttResult,
  type SttStream,
  type SttStreamOptions,
  type SttWord,
} from "./engine.ts";
import {
  KYUTAI_FRAME_SAMPLES,
  connect,
  decodeServerMessage,
  encodeAudioMessage,
  encodeMarkerMessage,
  endpoint,
  frames,
  silence,
  type KyutaiOptions,
} from "./kyutai-protocol.ts";
import { Upsampler16kTo24k } from "./upsample-24k.ts";

export class KyutaiEngine implements SttEngine {
  readonly name = "kyutai";
  readonly language: string | undefined;
  #options: KyutaiOptions;
  #markers = 0;

  constructor(options: KyutaiOptions) {
    this.#options = options;
    this.language = options.language;
  }

  /** The server does not name its model to clients, nor its languages (stt-1b-en_fr detects English or French). */
  modelFor(_language: string): string {
    return "kyutai";
  }

  /**
   * Connects with the key and asks for one marker back (after enough silence to pass the model's
   * delay): the server must accept the key, have a free slot and run its model.
   */
  async checkReady(): Promise<void> {
    const options = this.#options;
    const { socket, opened } = connect(options);
    // Listening before the upgrade completes: the batched module's Ready or Error follows it at once.
    const answered = new Promise<void>((resolve, reject) => {
      socket.on("message", (data: Buffer, isBinary: boolean) => {
        if (!isBinary) return;
        const message = decodeServerMessage(data);
        if (message?.type === "Ready" || message?.type === "Marker") resolve();
        if (message?.type === "Error") reject(new SttEngineNotReadyError(`Kyutai server ${endpoint(options)} answered: ${message.message}`));
      });
      socket.on("close", (code) =>
        reject(new SttEngineNotReadyError(`Kyutai server ${endpoint(options)} closed the connection (${code}) before answering`)),
      );
    });
    answered.catch(() => {});
    try {
      try {
        await opened;
      } catch (err) {
        throw new SttEngineNotReadyError((err as Error).message);
      }
      const id = ++this.#markers;
      socket.send(encodeMarkerMessage(id));
      for (const frame of frames(silence(options.flushSilenceMs + 1000))) socket.send(frame);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new SttEngineNotReadyError(`Kyutai server ${endpoint(options)} accepted the connection but did not answer within ${options.endTimeoutMs} ms`)),
          options.endTimeoutMs,
        );
      });
      try {
        await Promise.race([answered, timeout]);
      } finally {
        clearTimeout(timer);
      }
    } finally {
      socket.close(1000);
      setTimeout(() => socket.terminate(), 1000).unref();
    }
  }

  start(options: SttStreamOptions): SttStream {
    return new KyutaiStream(this.#options, ++this.#markers, options.onResult);
  }
}

/** One stream: its own websocket; interim results per word, one final at the end. */
class KyutaiStream implements SttStream {
  #options: KyutaiOptions;
  #markerId: number;
  #onResult: (result: SttResult) => void;
  #socket: WebSocket;
  #upsampler = new Upsampler16kTo24k();
  /** 24 kHz samples not yet sent as a whole frame. */
  #pending: number[] = [];
  #queued: Uint8Array[] = [];
  #open = false;
  #inputSamples = 0;
  #words: SttWord[] = [];
  #failure: Error | undefined;
  #ended = false;
  #aborted = false;
  /** The end marker came back: everything before it is transcribed, and what follows is ignored. */
  #markerSeen = false;
  #markerBack: () => void = () => {};
  #markerReturned: Promise<void>;
  #closed: Promise<void>;

  constructor(options: KyutaiOptions, markerId: number, onResult: (result: SttResult) => void) {
    this.#options = options;
    this.#markerId = markerId;
    this.#onResult = onResult;
    this.#markerReturned = new Promise((resolve) => (this.#markerBack = resolve));
    const { socket, opened } = connect(options);
    this.#socket = socket;
    opened.then(
      () => {
        this.#open = true;
        for (const frame of this.#queued) socket.send(frame);
        this.#queued = [];
      },
      (err: Error) => this.#fail(new SttEngineError(err.message)),
    );
    if (options.leadingSilenceMs > 0) this.#send(...frames(silence(options.leadingSilenceMs)));
    socket.on("message", (data: Buffer, isBinary: boolean) => {
      if (isBinary) this.#onMessage(data);
    });
    this.#closed = new Promise((resolve) => {
      socket.on("close", (code, reason) => {
        this.#open = false;
        this.#fail(new SttEngineError(`Kyutai server closed the connection (${code}${reason.length > 0 ? `: ${reason.toString()}` : ""}) before the end of the stream`));
        resolve();
      });
    });
  }

  write(pcm: Int16Array): void {
    if (this.#ended || this.#aborted || this.#failure !== undefined) return;
    this.#inputSamples += pcm.length;
    this.#frame(this.#upsampler.push(pcm));
  }

  async end(): Promise<void> {
    if (this.#ended || this.#aborted) return;
    this.#ended = true;
    if (this.#failure === undefined) {
      this.#frame(this.#upsampler.flush());
      // The last partial frame, completed with silence: the server steps whole frames only.
      if (this.#pending.length > 0) {
        const last = new Float32Array(KYUTAI_FRAME_SAMPLES);
        last.set(this.#pending);
        this.#pending = [];
        this.#send(encodeAudioMessage(last));
      }
      // The marker comes back `delay` model steps after the audio before it; the batched module
      // counts those steps for all its streams, so the silence that lets the model step through our
      // last words must already be queued behind the marker.
      this.#send(encodeMarkerMessage(this.#markerId));
      this.#send(...frames(silence(this.#options.flushSilenceMs)));
      // A model with a longer delay than configured: keep feeding silence, a second at a time.
      const more = setInterval(() => {
        if (this.#open) this.#send(...frames(silence(1000)));
      }, 1000);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          this.#fail(new SttEngineError(`Kyutai server did not finish the stream within ${this.#options.endTimeoutMs} ms of its end`));
          resolve();
        }, this.#options.endTimeoutMs);
      });
      try {
        await Promise.race([this.#markerReturned, timeout, this.#closed]);
      } finally {
        clearInterval(more);
        clearTimeout(timer);
      }
    }
    const failure = this.#failure;
    this.#close();
    if (failure !== undefined && !this.#markerSeen) throw failure;
    const result = this.#result(true);
    if (result !== undefined) this.#onResult(result);
  }

  abort(): void {
    this.#aborted = true;
    this.#socket.terminate();
  }

  #onMessage(data: Buffer): void {
    if (this.#aborted || this.#markerSeen) return;
    const message = decodeServerMessage(data);
    if (message === undefined) return;
    switch (message.type) {
      case "Word": {
        const startMs = Math.round(message.start_time * 1000) - this.#options.leadingSilenceMs;
        // Words the model places in the flushing silence are not speech of this stream.
        if (startMs >= this.#durationMs()) return;
        const previous = this.#words.at(-1);
        // Without an EndWord, a word ends where the next one starts.
        if (previous !== undefined && previous.endMs <= previous.startMs) previous.endMs = Math.max(previous.startMs, startMs);
        this.#words.push({ text: message.text, startMs: Math.max(0, startMs), endMs: Math.max(0, startMs) });
        const interim = this.#result(false);
        if (interim !== undefined) this.#onResult(interim);
        return;
      }
      case "EndWord": {
        const last = this.#words.at(-1);
        if (last !== undefined) last.endMs = Math.max(last.startMs, Math.round(message.stop_time * 1000) - this.#options.leadingSilenceMs);
        return;
      }
      case "Marker":
        if (message.id === this.#markerId) {
          this.#markerSeen = true;
          this.#markerBack();
        }
        return;
      case "Error":
        this.#fail(new SttEngineError(`Kyutai server error: ${message.message}`));
        return;
      case "Ready":
      case "Step":
        return;
    }
  }

  #durationMs(): number {
    return Math.round((this.#inputSamples * 1000) / STT_SAMPLE_RATE);
  }

  #result(final: boolean): SttResult | undefined {
    const durationMs = this.#durationMs();
    const words = this.#words
      .map((w) => ({ ...w, endMs: Math.min(durationMs, w.endMs > w.startMs ? w.endMs : final ? durationMs : w.startMs) }))
      .filter((w) => w.text.trim() !== "");
    const first = words[0];
    const last = words.at(-1);
    if (first === undefined || last === undefined) return undefined;
    return { text: words.map((w) => w.text.trim()).join(" "), startMs: first.startMs, endMs: last.endMs, final, words };
  }

  #frame(pcm: Float32Array): void {
    for (const s of pcm) {
      this.#pending.push(s);
      if (this.#pending.length === KYUTAI_FRAME_SAMPLES) {
        this.#send(encodeAudioMessage(Float32Array.from(this.#pending)));
        this.#pending = [];
      }
    }
  }

  #send(...messages: Uint8Array[]): void {
    if (this.#aborted || this.#failure !== undefined) return;
    if (this.#open) for (const m of messages) this.#socket.send(m);
    else this.#queued.push(...messages);
  }

  #fail(err: Error): void {
    if (this.#failure === undefined && !this.#aborted && !this.#markerSeen) this.#failure = err;
    this.#markerBack();
  }

  #close(): void {
    if (this.#socket.readyState === WebSocket.OPEN || this.#socket.readyState === WebSocket.CONNECTING) {
      this.#socket.close(1000);
      setTimeout(() => this.#socket.terminate(), 1000).unref();
    }
  }
}
