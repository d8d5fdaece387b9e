// Interim decodings give way to finals: the scheduler alone, then the OpenAI-compatible engine's streams
// against a fake server whose answers the test releases one by one (an engine that falls behind).
import { strict as assert } from "node:assert";
import type { SttResult } from "../../../bridge/src/stt/engine.ts";
import { InterimScheduler } from "../../../bridge/src/stt/interim-scheduler.ts";
import { OpenAiCompatibleEngine } from "../../../bridge/src/stt/openai-compatible.ts";

/** A decoding the test finishes when it wants. */
function gate(): { promise: Promise<void>; open(): void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("interim scheduler", function () {
  it("runs at most maxInFlight interim decodings at once, the others in the order they became due", async function () {
    const scheduler = new InterimScheduler({ maxInFlight: 2 });
    const started: string[] = [];
    const gates = new Map<string, ReturnType<typeof gate>>();
    for (const name of ["a", "b", "c", "d"]) {
      const g = gate();
      gates.set(name, g);
      scheduler.request(async () => {
        started.push(name);
        await g.promise;
      });
    }
    assert.deepEqual(started, ["a", "b"]);
    assert.equal(scheduler.waiting, 2);
    gates.get("b")!.open();
    await settle();
    assert.deepEqual(started, ["a", "b", "c"]);
    gates.get("a")!.open();
    await settle();
    assert.deepEqual(started, ["a", "b", "c", "d"]);
    assert.deepEqual(scheduler.stats, { started: 4, dropped: 0 });
  });

  it("starts no interim decoding while a final one runs, and the waiting ones after it", async function () {
    const scheduler = new InterimScheduler();
    const started: string[] = [];
    const final = gate();
    const finalDone = scheduler.final(async () => {
      await final.promise;
      return "final text";
    });
    scheduler.request(async () => {
      started.push("interim");
    });
    await settle();
    assert.deepEqual(started, [], "held back while the final is decoded");
    final.open();
    assert.equal(await finalDone, "final text");
    await settle();
    assert.deepEqual(started, ["interim"]);
  });

  it("never holds a final back, even behind running interim decodings", async function () {
    const scheduler = new InterimScheduler();
    const interim = gate();
    scheduler.request(() => interim.promise);
    let finalRan = false;
    await scheduler.final(async () => {
      finalRan = true;
    });
    assert.equal(finalRan, true);
    interim.open();
  });

  it("drops a waiting interim decoding that is withdrawn, and survives one that fails", async function () {
    const scheduler = new InterimScheduler();
    const first = gate();
    scheduler.request(async () => {
      await first.promise;
      throw new Error("server answered 500");
    });
    let secondRan = false;
    const withdraw = scheduler.request(async () => {
      secondRan = true;
    });
    withdraw();
    withdraw();
    let thirdRan = false;
    scheduler.request(async () => {
      thirdRan = true;
    });
    first.open();
    await settle();
    await settle();
    assert.equal(secondRan, false);
    assert.equal(thirdRan, true, "the failed decoding freed its place");
    assert.deepEqual(scheduler.stats, { started: 2, dropped: 1 });
  });

  it("refuses a maxInFlight that is not a positive integer", function () {
    assert.throws(() => new InterimScheduler({ maxInFlight: 0 }), /maxInFlight must be a positive integer, got 0/);
    assert.throws(() => new InterimScheduler({ maxInFlight: 1.5 }), /got 1.5/);
  });
});

interface PendingRequest {
  interim: boolean;
  seconds: number;
  answer(text: string): void;
}

/** An OpenAI-compatible server that answers only when the test says so. */
function slowServer(): { fetch: typeof fetch; pending: PendingRequest[] } {
  const pending: PendingRequest[] = [];
  const fake = async (_url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const form = init?.body as FormData;
    const file = form.get("file") as File;
    const seconds = (file.size - 44) / 32_000;
    return new Promise<Response>((resolve) => {
      pending.push({
        interim: form.get("interim") === "true",
        seconds,
        answer: (text) => resolve(Response.json({ text, segments: [{ start: 0, end: seconds }] })),
      });
    });
  };
  return { fetch: fake as typeof fetch, pending };
}

describe("OpenAI-compatible engine under load", function () {
  const second = new Int16Array(16_000);

  it("sends each utterance's final at once while interim decodings wait their turn, one at a time across streams", async function () {
    const server = slowServer();
    const engine = new OpenAiCompatibleEngine({ url: "http://whisper.invalid", models: ["tiny.en"], timeoutMs: 60_000, interimIntervalMs: 1000, fetch: server.fetch });
    const results = new Map<string, SttResult[]>();
    const open = (name: string) => {
      results.set(name, []);
      return engine.start({ onResult: (r) => results.get(name)!.push(r) });
    };
    const [a, b, c] = [open("a"), open("b"), open("c")];
    for (const stream of [a, b, c]) stream.write(second);
    await settle();
    assert.deepEqual(server.pending.map((p) => p.interim), [true], "a's interim decoding runs; b's and c's wait");
    assert.equal(engine.interims.waiting, 2);

    // a ends: its final goes at once, beside a's interim decoding still running.
    const aDone = a.end();
    await settle();
    assert.deepEqual(server.pending.map((p) => p.interim), [true, false]);
    server.pending.shift()!.answer("Please send");
    await settle();
    assert.equal(server.pending.length, 1, "no interim decoding starts while a final one runs");

    server.pending.shift()!.answer("Please send the report.");
    await aDone;
    await settle();
    assert.deepEqual(server.pending.map((p) => [p.interim, p.seconds]), [[true, 1]], "then b's turn (it became due before c)");

    // c ends while waiting: its interim decoding is dropped, its final sent.
    b.write(second);
    const cDone = c.end();
    await settle();
    assert.deepEqual(server.pending.map((p) => p.interim), [true, false]);
    assert.deepEqual(engine.interims.stats, { started: 2, dropped: 1 });
    server.pending.pop()!.answer("Before Friday.");
    await cDone;
    server.pending.shift()!.answer("We need");
    await settle();
    // b became due again meanwhile: its next decoding covers all it has (2 s).
    assert.deepEqual(server.pending.map((p) => [p.interim, p.seconds]), [[true, 2]]);
    server.pending.shift()!.answer("We need a decision");
    await settle();
    const bDone = b.end();
    await settle();
    server.pending.shift()!.answer("We need a decision.");
    await bDone;

    assert.deepEqual(results.get("a")!.filter((r) => r.final).map((r) => r.text), ["Please send the report."]);
    assert.deepEqual(results.get("c")!.map((r) => r.text), ["Before Friday."], "c had no interim decoding, and its final");
    assert.deepEqual(results.get("b")!.map((r) => `${r.final ? "final" : "interim"}: ${r.text}`), ["interim: We", "interim: We need", "final: We need a decision."]);
  });

  it("gives every stream interim decodings while the server keeps up, fewer to each when more streams share it, and finals never queue behind them", async function () {
    // A server that decodes one request at a time, in the order they came (a saturated core), one per
    // step of time, fed by streams that each write a second of audio per step.
    const run = async (streams: number): Promise<{ interimsPerStream: number; finals: number; interimsAheadOfAFinal: number }> => {
      const server = slowServer();
      const engine = new OpenAiCompatibleEngine({ url: "http://whisper.invalid", models: ["tiny.en"], timeoutMs: 60_000, interimIntervalMs: 1000, fetch: server.fetch });
      let finals = 0;
      const opened = Array.from({ length: streams }, () => engine.start({ onResult: (r) => (finals += r.final ? 1 : 0) }));
      let interims = 0;
      // For each final waiting at the server, the interim decodings answered before it.
      const waitingFinals = new Map<PendingRequest, number>();
      let interimsAheadOfAFinal = 0;
      const step = async (): Promise<void> => {
        await settle();
        for (const p of server.pending) if (!p.interim && !waitingFinals.has(p)) waitingFinals.set(p, 0);
        const request = server.pending.shift();
        if (request === undefined) return;
        if (request.interim) {
          interims += 1;
          for (const [p, n] of waitingFinals) waitingFinals.set(p, n + 1);
        } else {
          interimsAheadOfAFinal = Math.max(interimsAheadOfAFinal, waitingFinals.get(request) ?? 0);
          waitingFinals.delete(request);
        }
        request.answer("words");
        await settle();
      };
      for (let s = 0; s < 6; s++) {
        for (const stream of opened) stream.write(second);
        await step();
      }
      const ends = opened.map((stream) => stream.end());
      while (server.pending.length > 0) await step();
      await Promise.all(ends);
      return { interimsPerStream: interims / streams, finals, interimsAheadOfAFinal };
    };
    const light = await run(1);
    const heavy = await run(8);
    assert.equal(light.finals, 1);
    assert.equal(heavy.finals, 8, "every final arrives");
    assert.ok(light.interimsPerStream >= 5, `1 stream: ${light.interimsPerStream} interim decodings for 6 s`);
    assert.ok(heavy.interimsPerStream <= 1, `8 streams: ${heavy.interimsPerStream} each, against ${light.interimsPerStream} for one alone`);
    assert.ok(heavy.interimsAheadOfAFinal <= 1, `a final waited behind ${heavy.interimsAheadOfAFinal} interim decodings (at most the one already running)`);
  });
});
