// npm run bench: the figures DESIGN.md sets targets for, as medians over several runs.
import { benchTransactions } from "./bench/appservice-transactions.ts";
import { benchFocusTokens, benchRateLimiterNs, type FocusBenchRun } from "./bench/focus-tokens.ts";
import { benchTranscriptionEngines, transcriptionReport } from "./bench/transcription.ts";
import { benchFrenchTranscription, frenchTranscriptionReport } from "./bench/french-transcription.ts";
import { stopSharedTestbed } from "../tests/harness/testbed.ts";

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const fmt = (n: number): string => n.toFixed(0);

const tx = await benchTransactions();
process.stdout.write(
  [
    "appservice transactions (1 core, SQLite, 60 transactions x 100 events, sequential like a homeserver):",
    `  events/s per run: ${tx.eventsPerSecond.map(fmt).join(", ")}`,
    `  median: ${fmt(median(tx.eventsPerSecond))} events/s (target >= 2000)`,
    `  events lost or applied twice across restarts and redeliveries: ${tx.lostOrDuplicated}`,
    "",
  ].join("\n"),
);

// The appservice at a ministry's scale: 10,000 meeting rooms, 200,000 memberships.
const { appserviceScaleReport, benchAppserviceScale } = await import("./bench/appservice-scale.ts");
process.stdout.write(appserviceScaleReport(await benchAppserviceScale()));

const livekitBinary = process.env.VISIO_LIVEKIT_BIN;
if (!livekitBinary) throw new Error("VISIO_LIVEKIT_BIN is not set: run `npm run bench`, which installs LiveKit");
// With and without the rate limiters, in alternating rounds, so that the machine's drift (it is shared)
// weighs on both alike; the ratio is the median of the rounds' ratios.
const FOCUS_ROUNDS = 3;
const limitedRounds: Awaited<ReturnType<typeof benchFocusTokens>>[] = [];
const unlimitedRounds: typeof limitedRounds = [];
for (let round = 0; round < FOCUS_ROUNDS; round++) {
  limitedRounds.push(await benchFocusTokens(livekitBinary));
  unlimitedRounds.push(await benchFocusTokens(livekitBinary, { rateLimits: "off" }));
}
const rate = (runs: FocusBenchRun[]): number => median(runs.map((r) => r.tokensPerSecond));
const roundsRatio = (kind: "cached" | "uncached"): number =>
  median(limitedRounds.map((round, i) => rate(round[kind]) / rate(unlimitedRounds[i]![kind])));
const focus = { cached: limitedRounds.flatMap((r) => r.cached), uncached: limitedRounds.flatMap((r) => r.uncached) };
const unlimited = { cached: unlimitedRounds.flatMap((r) => r.cached), uncached: unlimitedRounds.flatMap((r) => r.uncached) };
const cachedRatio = roundsRatio("cached");
const uncachedRatio = roundsRatio("uncached");
const limiterNs = benchRateLimiterNs();
const cachedCpuNsPerToken = median(focus.cached.map((r) => r.serverCpuMsPerToken)) * 1e6;
const focusLine = (label: string, runs: FocusBenchRun[]): string =>
  `  ${label}: ${fmt(median(runs.map((r) => r.tokensPerSecond)))} tokens/s, p50 ${median(runs.map((r) => r.p50Ms)).toFixed(1)} ms, ` +
  `p99 ${median(runs.map((r) => r.p99Ms)).toFixed(1)} ms (runs: ${runs.map((r) => fmt(r.tokensPerSecond)).join(", ")} tokens/s); ` +
  `service CPU ${median(runs.map((r) => r.serverCpuMsPerToken)).toFixed(3)} ms/token = ${fmt(1000 / median(runs.map((r) => r.serverCpuMsPerToken)))} tokens/s per core`;
process.stdout.write(
  [
    `focus /get_token (appservice on 1 core, SQLite, real LiveKit on loopback, 16 concurrent clients; medians of ${FOCUS_ROUNDS} rounds x 5 runs):`,
    focusLine("OpenID check cached  ", focus.cached),
    focusLine("OpenID check uncached", focus.uncached),
    "  target: >= 5000 tokens/s cached, p99 < 20 ms",
    "  the same without the rate limiters (rate_limits.enabled: false):",
    focusLine("OpenID check cached  ", unlimited.cached),
    focusLine("OpenID check uncached", unlimited.uncached),
    `  with / without the limiters (median of the ${FOCUS_ROUNDS} rounds' ratios): ${cachedRatio.toFixed(3)} cached, ${uncachedRatio.toFixed(3)} uncached (target: >= 0.95)`,
    `  the limiters by themselves: ${fmt(limiterNs)} ns per request = ${((100 * limiterNs) / cachedCpuNsPerToken).toFixed(2)} % of the service's CPU per cached token`,
    "",
  ].join("\n"),
);

// Every engine: those that cannot run here are reported as "not available: <reason>".
process.stdout.write(`${transcriptionReport(await benchTranscriptionEngines(3))}\n`);

// Voice activity detection on noisy recorded speech: the energy VAD against Silero v5.
const { benchVadComparison, vadComparisonReport } = await import("./bench/vad-comparison.ts");
process.stdout.write(`${vadComparisonReport(await benchVadComparison())}\n`);

// The worker's own CPU per second of audio after rtc-node (VAD, utterances, Whisper client), no engine.
const { benchWorkerPipeline, workerPipelineReport } = await import("./bench/worker-pipeline-cpu.ts");
process.stdout.write(`${workerPipelineReport(await benchWorkerPipeline(5, livekitBinary))}\n`);

// Streams at once into a Whisper server on one core (no test bed): the engine's share, and what is kept under overload.
const { benchWhisperStreams, whisperStreamsReport } = await import("./bench/whisper-streams.ts");
process.stdout.write(`${whisperStreamsReport(await benchWhisperStreams([1, 3, 8]))}\n`);

// French: each served Whisper model that covers it, on recorded French speech (Debian tuxpaint-stamps-default).
process.stdout.write(`${frenchTranscriptionReport(await benchFrenchTranscription(3))}\n`);

// The web client: two Chromium in the test bed's namespaces (root needed), real servers.
const { benchClient } = await import("./bench/client.ts");
const client = await benchClient(5);
const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
process.stdout.write(
  [
    "web client (Chromium per ministry in its namespace, Synapse A and B, LiveKit A via A's focus, fake camera; 5 runs):",
    `  click "join" -> first decoded remote video frame: median ${fmt(median(client.joinToFirstFrameMs))} ms (runs: ${client.joinToFirstFrameMs.map(fmt).join(", ")} ms; target < 2000 ms)`,
    `  bundle loaded at start: ${(client.bundle.initialGzipBytes / 1024).toFixed(0)} KiB gzip (${(client.bundle.initialBytes / 1024).toFixed(0)} KiB raw); on-demand chunks (unused end-to-end encryption): ${(client.bundle.lazyGzipBytes / 1024).toFixed(0)} KiB gzip`,
    `  one tab in a 2-person call after 10 s: JS heap ${mb(client.memory.jsHeapUsedBytes)} MiB, renderer RSS ${mb(client.memory.rendererRssBytes)} MiB, all Chromium processes RSS ${mb(client.memory.browserRssBytes)} MiB`,
    "",
  ].join("\n"),
);

// Element Call and the Visio client in one call, each pairing (root needed: namespaces).
const { benchElementCallPairings } = await import("./bench/element-call.ts");
for (const mode of ["compatibility", "matrix_2_0"] as const) {
  const pairs = await benchElementCallPairings(5, mode);
  const clientName = (c: string): string => (c === "visio" ? "Visio" : `Element Call ${pairs.version}`);
  process.stdout.write(
    [
      `click "join" -> first decoded remote video frame, ${mode} mode, a caller of A in the call, one of B joining (LiveKit A and B, both foci; 5 runs each):`,
      ...pairs.pairings.map(
        (p) => `  ${clientName(p.first)} (A), ${clientName(p.joiner)} (B) joining: median ${fmt(median(p.joinToFirstFrameMs))} ms (runs: ${p.joinToFirstFrameMs.map(fmt).join(", ")} ms)`,
      ),
      "",
    ].join("\n"),
  );
}

// Live transcription on the test bed: a worker dispatched to real calls (root needed: namespaces).
const { benchLiveTranscription } = await import("./bench/live-transcription.ts");
const percentileOf = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? NaN;
};
// An English meeting (tiny.en), then a French one (base): the default engine in both languages; in
// English, then 8 calls at once on one core (worker and Whisper server), more than it carries.
const { liveTranscriptionLines } = await import("./bench/live-transcription-report.ts");
for (const language of ["en", "fr"] as const) {
  const live = await benchLiveTranscription({ language, overloadStreams: language === "en" ? 8 : 0 });
  process.stdout.write(`${liveTranscriptionLines(live).join("\n")}\n`);
}

// A kick while the appservice's queue holds transcriptions waiting for a worker (root needed: namespaces).
const { benchKickLatency } = await import("./bench/kick-latency.ts");
const kick = await benchKickLatency();
process.stdout.write(
  [
    "kick -> the kicked member's LiveKit participant disconnected (moderator's kick on Synapse A, appservice A, LiveKit A; rtc-node participant):",
    `  nothing else queued: p50 ${fmt(percentileOf(kick.idleMs, 0.5))} ms, p99 ${fmt(percentileOf(kick.idleMs, 0.99))} ms (kicks: ${kick.idleMs.map(fmt).join(", ")} ms)`,
    `  ${kick.waiting} transcriptions waiting for a worker: p50 ${fmt(percentileOf(kick.busyMs, 0.5))} ms, p99 ${fmt(percentileOf(kick.busyMs, 0.99))} ms (kicks: ${kick.busyMs.map(fmt).join(", ")} ms; target < 1000)`,
    "",
  ].join("\n"),
);

// A large call (root needed: namespaces): join storms of 50, then calls growing until the machine has
// no CPU left, with who used it (LiveKit, appservice, Synapse, the load clients).
const { benchLargeCall } = await import("./bench/large-call.ts");
const { largeCallReport } = await import("./bench/large-call-report.ts");
process.stdout.write(largeCallReport(await benchLargeCall()));

// The client and live transcription benches shared one test bed (network namespaces): stopped once.
await stopSharedTestbed({ keepRunDir: false });
