// What a transcript is made of: one segment per utterance of one speaker.
import type { SttWord } from "../stt/engine.ts";

export interface Speaker {
  /** Stable identifier: the Matrix user ID in calls, a label for recordings. */
  id: string;
  /** What readers see, e.g. the Matrix display name. */
  name: string;
}

export interface TranscriptSegment {
  /** Unique within a transcript; a segment's later versions (interim, then final) keep it. */
  id: string;
  speaker: Speaker;
  /** Milliseconds from the start of the transcript (the recording, or the start of transcription). */
  startMs: number;
  endMs: number;
  text: string;
  /** BCP 47 tag; "und" when neither the configuration nor the engine says. */
  language: string;
  /** The engine's name, as configured ("pocketsphinx"). */
  engine: string;
  /** false while the engine may still revise it. */
  final: boolean;
  /** Word times, from the transcript start, where the engine gives them. */
  words?: SttWord[];
}
