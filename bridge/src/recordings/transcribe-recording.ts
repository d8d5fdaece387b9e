// A recording through the same VAD, engines and assembler as live calls: one speaker (a recording has one
// mixed track), segments in order, ready for the WebVTT and Markdown writers.
import type { SttEngine } from "../stt/engine.ts";
import { STT_SAMPLE_RATE } from "../stt/engine.ts";
import type { VadSettings } from "../transcript/vad.ts";
import type { Speaker, TranscriptSegment } from "../transcript/segment.ts";
import { UtteranceTranscriber } from "../transcript/utterance-transcriber.ts";

export interface TranscribeRecordingOptions {
  engine: SttEngine;
  speaker: Speaker;
  language?: string;
  vad?: VadSettings;
  /** Utterances decoded at the same time (engine processes or requests). */
  concurrency: number;
}

export interface RecordingTranscript {
  /** Final segments, in order of start time. */
  segments: TranscriptSegment[];
  durationMs: number;
}

/** `audio`: 16 kHz mono chunks, e.g. from decodeAudioFile. */
export async function transcribeRecording(audio: AsyncIterable<Int16Array>, options: TranscribeRecordingOptions): Promise<RecordingTranscript> {
  const finals = new Map<string, TranscriptSegment>();
  const transcriber = new UtteranceTranscriber({
    engine: options.engine,
    speaker: options.speaker,
    language: options.language,
    vad: options.vad,
    onSegment: (segment) => {
      if (segment.final) finals.set(segment.id, segment);
    },
  });
  let samples = 0;
  try {
    for await (const chunk of audio) {
      samples += chunk.length;
      transcriber.push(chunk);
      await transcriber.backpressure(options.concurrency);
    }
  } catch (err) {
    transcriber.abort();
    throw err;
  }
  await transcriber.finish();
  return {
    segments: [...finals.values()].filter((s) => s.text !== "").toSorted((a, b) => a.startMs - b.startMs),
    durationMs: Math.round((samples * 1000) / STT_SAMPLE_RATE),
  };
}
