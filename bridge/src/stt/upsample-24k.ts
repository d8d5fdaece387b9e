// 16 kHz Int16 → 24 kHz float in [-1, 1], streaming, for engines whose models run at 24 kHz (Kyutai's
// Mimi codec). The ratio is 3:2, so each output sample falls at one of three fixed fractional positions
// of the input; a windowed-sinc kernel per position keeps speech free of the aliasing that linear
// interpolation folds back above 8 kHz.
import { STT_SAMPLE_RATE } from "./engine.ts";

export const KYUTAI_SAMPLE_RATE = 24_000;

/** Input samples on each side of an output position. */
const HALF_TAPS = 8;

/** kernels[p][k]: weight of input sample floor(t) - HALF_TAPS + 1 + k for an output at t = floor(t) + p/3. */
const KERNELS: Float64Array[] = [0, 1, 2].map((phase) => {
  const fraction = phase / 3;
  const kernel = new Float64Array(2 * HALF_TAPS);
  let sum = 0;
  for (let k = 0; k < kernel.length; k++) {
    const x = k - HALF_TAPS + 1 - fraction;
    const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
    // Blackman window over the kernel's span.
    const w = 0.42 + 0.5 * Math.cos((Math.PI * x) / HALF_TAPS) + 0.08 * Math.cos((2 * Math.PI * x) / HALF_TAPS);
    kernel[k] = sinc * Math.max(0, w);
    sum += kernel[k]!;
  }
  // Unit gain at DC, so silence stays silence and levels are kept.
  for (let k = 0; k < kernel.length; k++) kernel[k]! /= sum;
  return kernel;
});

/**
 * Output sample n is the input at time 2n/3 (in input samples): audio time is kept exactly, so word
 * times at 24 kHz map back to the 16 kHz stream without drift.
 */
export class Upsampler16kTo24k {
  /** Input not yet fully used, as floats; `#base` is the index of its first sample in the stream. */
  #input: number[] = [];
  #base = 0;
  #received = 0;
  #produced = 0;

  /** Upsamples what it can; the last few output samples wait for the next input (or flush()). */
  push(pcm: Int16Array): Float32Array {
    for (const s of pcm) this.#input.push(s / 32768);
    this.#received += pcm.length;
    return this.#produce(this.#received);
  }

  /** End of input: the remaining output, computed as if silence followed. */
  flush(): Float32Array {
    const total = Math.ceil((this.#received * KYUTAI_SAMPLE_RATE) / STT_SAMPLE_RATE);
    const out = new Float32Array(Math.max(0, total - this.#produced));
    for (let i = 0; i < out.length; i++) out[i] = this.#sample(this.#produced + i);
    this.#produced += out.length;
    return out;
  }

  /** Outputs whose whole kernel lies inside the input received so far. */
  #produce(available: number): Float32Array {
    const out: number[] = [];
    for (;;) {
      const n = this.#produced;
      const last = Math.floor((2 * n) / 3) + HALF_TAPS;
      if (last >= available) break;
      out.push(this.#sample(n));
      this.#produced++;
    }
    // Keep only what future outputs can still reach.
    const keepFrom = Math.floor((2 * this.#produced) / 3) - HALF_TAPS + 1;
    if (keepFrom > this.#base) {
      this.#input.splice(0, keepFrom - this.#base);
      this.#base = keepFrom;
    }
    return Float32Array.from(out);
  }

  #sample(n: number): number {
    const whole = Math.floor((2 * n) / 3);
    const kernel = KERNELS[(2 * n) % 3]!;
    let acc = 0;
    for (let k = 0; k < kernel.length; k++) {
      const index = whole - HALF_TAPS + 1 + k - this.#base;
      const x = index >= 0 && index < this.#input.length ? this.#input[index]! : 0;
      acc += kernel[k]! * x;
    }
    return Math.max(-1, Math.min(1, acc));
  }
}
