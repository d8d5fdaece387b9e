// A microphone's loudness for the pre-join meter: an AnalyserNode on the track, read as the RMS of
// its latest samples, in decibels mapped onto 0..1 (-60 dB and below is silence, 0 dB full).
import type { LevelSource } from "./call-media.ts";

const FLOOR_DB = -60;

/** 0..1 from time-domain samples in -1..1. */
export function levelOfSamples(samples: ArrayLike<number>): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i]! * samples[i]!;
  const rms = Math.sqrt(sum / samples.length);
  if (rms === 0) return 0;
  const db = 20 * Math.log10(rms);
  return Math.min(1, Math.max(0, (db - FLOOR_DB) / -FLOOR_DB));
}

export function measureLevel(track: MediaStreamTrack): LevelSource {
  const context = new AudioContext();
  // Opened after the user's click on « join »; resumed in case the browser started it suspended.
  void context.resume().catch(() => undefined);
  const source = context.createMediaStreamSource(new MediaStream([track]));
  const analyser = context.createAnalyser();
  analyser.fftSize = 1024;
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  return {
    level() {
      analyser.getFloatTimeDomainData(samples);
      return levelOfSamples(samples);
    },
    close() {
      source.disconnect();
      void context.close().catch(() => undefined);
    },
  };
}
