import { strict as assert } from "node:assert";
import { readFile } from "node:fs/promises";
import yaml from "js-yaml";
import { Job, JobStatus, JobType, Room } from "@livekit/protocol";
import { TRANSCRIPTION_CONTROL_TOPIC, type RoomEvent, type TranscriptionJobMetadata } from "../../../config/wire-types.ts";
import type { AgentConnectionHandlers } from "../../../bridge/src/agent/agent-connection.ts";
import type { MatrixRequest } from "../../../config/matrix/matrix-http-client.ts";
import { readEarlierTranscript } from "../../../bridge/src/matrix/thread-reader.ts";
import { postTranscriptFiles, transcriptFileStem } from "../../../bridge/src/matrix/transcript-files.ts";
import { FakeSttEngine } from "../../../bridge/src/stt/testing/fake-engine.ts";
import type { TranscriptSegment } from "../../../bridge/src/transcript/segment.ts";
import { parseWebVtt } from "../../../bridge/src/transcript/webvtt.ts";
import { readControlMessage } from "../../../bridge/src/worker/control-message.ts";
import { parseJobMetadata } from "../../../config/job-metadata-schema.ts";
import { parseWorkerConfig, renderWorkerSampleConfig, type WorkerConfig } from "../../../config/worker-schema.ts";
import { TranscriptionWorker, type WorkerEvent } from "../../../bridge/src/worker/worker.ts";

const BRIDGE = "@visio-transcriber:a.test";
const METADATA: TranscriptionJobMetadata = { room_id: "!room:a.test", language: "en", engine: "pocketsphinx", started_at: 1_790_000_000_000, thread_root: "$root" };
const minimalConfig = {
  livekit: { url: "ws://10.77.0.1:7880", api_key: "k", api_secret: "x".repeat(32) },
  matrix: { homeserver_url: "http://10.77.1.2:8008", as_token: "as-secret", user_id: BRIDGE },
};

const encode = (value: unknown): Uint8Array => new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value));

describe("transcription worker", function () {
  describe("config", function () {
    it("reads the LiveKit and Matrix sections beside the engine settings, with worker defaults", function () {
      const config = parseWorkerConfig(minimalConfig);
      assert.equal(config.stt.engine, "openai");
      assert.deepEqual(config.worker, { max_jobs: 8, identity_prefix: "visio-transcriber", name: "Transcription", recording_concurrency: 2 });
      assert.equal(config.matrix.user_id, BRIDGE);
    });

    it("names every wrong key", function () {
      assert.throws(
        () =>
          parseWorkerConfig({
            livekit: { url: "http://x", api_key: "k", api_secret: "short" },
            matrix: { homeserver_url: "ws://x", as_token: "", user_id: "visio-transcriber" },
            worker: { max_jobs: 0 },
            extra: 1,
          }),
        (err: Error) =>
          ["livekit.url", "livekit.api_secret", "matrix.homeserver_url", "matrix.as_token", "matrix.user_id", "worker.max_jobs", "extra"].every((key) => err.message.includes(key)),
      );
    });

    it("keeps config/worker.sample.yaml in step with the schema, and the sample is valid", async function () {
      const committed = await readFile(new URL("../../../config/worker.sample.yaml", import.meta.url), "utf8");
      assert.equal(committed, renderWorkerSampleConfig(), "regenerate with: npm run transcription-worker -- --sample-config > config/worker.sample.yaml");
      assert.equal(parseWorkerConfig(yaml.load(committed)).matrix.user_id, "@visio-transcriber:ministry.example");
    });
  });

  describe("job metadata", function () {
    it("reads TranscriptionJobMetadata", function () {
      assert.deepEqual(parseJobMetadata(JSON.stringify(METADATA)), METADATA);
    });

    it("refuses what cannot be placed in a Matrix thread, saying why", function () {
      assert.throws(() => parseJobMetadata("not json"), /job metadata is not JSON/);
      assert.throws(() => parseJobMetadata(""), /job metadata is not JSON/);
      assert.throws(
        () => parseJobMetadata(JSON.stringify({ ...METADATA, room_id: "#alias:a.test", thread_root: undefined })),
        (err: Error) => /room_id: must be a Matrix room ID/.test(err.message) && /thread_root/.test(err.message),
      );
    });
  });

  describe("control messages", function () {
    it("obeys a stop from LiveKit's server API only", function () {
      assert.deepEqual(readControlMessage(encode({ action: "stop" }), TRANSCRIPTION_CONTROL_TOPIC, true), { action: "stop" });
      assert.deepEqual(readControlMessage(encode({ action: "stop" }), "lk.chat", true), { action: "none" });
      assert.deepEqual(readControlMessage(encode({ action: "stop" }), TRANSCRIPTION_CONTROL_TOPIC, false), {
        action: "ignore",
        reason: "sent by a participant, not the server",
      });
      assert.deepEqual(readControlMessage(encode("{"), TRANSCRIPTION_CONTROL_TOPIC, true), { action: "ignore", reason: "not JSON" });
      assert.deepEqual(readControlMessage(encode({ action: "pause" }), TRANSCRIPTION_CONTROL_TOPIC, true), { action: "ignore", reason: "not a known control message" });
    });
  });

  describe("reading an earlier run's thread back", function () {
    const fields = (start: number, final: boolean, speaker = "@alice:a.test", name = "Alice") => ({
      speaker,
      speaker_name: name,
      start_ms: start,
      end_ms: start + 1000,
      language: "en",
      engine: "pocketsphinx",
      final,
    });
    const message = (id: string, sender: string, content: Record<string, unknown>, edit?: { sender: string; newContent: Record<string, unknown> }): RoomEvent & { unsigned?: unknown } => ({
      event_id: id,
      room_id: METADATA.room_id,
      type: "m.room.message",
      sender,
      origin_server_ts: 0,
      content,
      ...(edit === undefined ? {} : { unsigned: { "m.relations": { "m.replace": { sender: edit.sender, content: { "m.new_content": edit.newContent } } } } }),
    });

    it("keeps the bridge's finals with their latest edit, lists unfinished ones, and ignores everything else", async function () {
      const pages: Record<string, { chunk: unknown[]; next_batch?: string }> = {
        first: {
          chunk: [
            message("$1", BRIDGE, { body: "Alice: hel", "org.visio.transcript": fields(3000, false) }, { sender: BRIDGE, newContent: { body: "Alice: hello there", "org.visio.transcript": fields(3000, true) } }),
            message("$2", "@bob:b.test", { body: "a reply in the thread" }),
            message("$3", BRIDGE, { body: "Bob: half", "org.visio.transcript": fields(9000, false, "@bob:b.test", "Bob") }),
          ],
          next_batch: "second",
        },
        second: {
          chunk: [
            message("$4", BRIDGE, { body: "Alice: first", "org.visio.transcript": fields(1000, true) }),
            // An edit by someone else does not count, as clients ignore it.
            message("$5", BRIDGE, { body: "Alice: kept", "org.visio.transcript": fields(5000, true) }, { sender: "@mallory:a.test", newContent: { body: "Alice: forged", "org.visio.transcript": fields(5000, true) } }),
            message("$6", BRIDGE, { msgtype: "m.file", body: "transcript.vtt" }),
          ],
        },
      };
      const requests: MatrixRequest[] = [];
      const client = {
        request: async <T>(request: MatrixRequest): Promise<T> => {
          requests.push(request);
          return pages[String(request.query?.from ?? "first")] as T;
        },
      };
      const earlier = await readEarlierTranscript(client, METADATA.room_id, "$root", BRIDGE);
      assert.deepEqual(
        earlier.finals.map((s) => [s.id, s.speaker.id, s.text, s.startMs, s.final]),
        [
          ["$4", "@alice:a.test", "first", 1000, true],
          ["$1", "@alice:a.test", "hello there", 3000, true],
          ["$5", "@alice:a.test", "kept", 5000, true],
        ],
      );
      assert.deepEqual(
        earlier.unfinished.map((u) => [u.eventId, u.segment.speaker.name, u.segment.text]),
        [["$3", "Bob", "half"]],
      );
      assert.deepEqual(requests[0]?.path, ["_matrix", "client", "v1", "rooms", METADATA.room_id, "relations", "$root", "m.thread"]);
      assert.equal(requests[1]?.query?.from, "second");
    });
  });

  describe("transcript files", function () {
    it("uploads the WebVTT and Markdown and posts them as m.file messages in the thread", async function () {
      const uploads: { text: string; contentType: string; filename: string }[] = [];
      const sent: { content: Record<string, unknown>; txnId: string }[] = [];
      const client = {
        upload: async (data: Uint8Array, contentType: string, filename: string) => {
          uploads.push({ text: new TextDecoder().decode(data), contentType, filename });
          return `mxc://a.test/${uploads.length}`;
        },
        sendEvent: async (_roomId: string, _type: string, content: Record<string, unknown>, txnId: string) => {
          sent.push({ content, txnId });
          return `$file${sent.length}`;
        },
      };
      const segment = (startMs: number, text: string, name: string): TranscriptSegment => ({
        id: String(startMs),
        speaker: { id: `@${name.toLowerCase()}:a.test`, name },
        startMs,
        endMs: startMs + 2000,
        text,
        language: "en",
        engine: "pocketsphinx",
        final: true,
      });
      const posted = await postTranscriptFiles(client, {
        roomId: METADATA.room_id,
        threadRoot: "$root",
        sessionId: "s1",
        startedAt: Date.UTC(2026, 10, 28, 9, 15, 30),
        language: "en",
        engine: "pocketsphinx",
        segments: [segment(4000, "second", "Bob"), segment(1000, "first", "Alice")],
      });
      assert.equal(transcriptFileStem(Date.UTC(2026, 10, 28, 9, 15, 30), "en"), "transcript-2026-11-28-0915Z");
      assert.equal(transcriptFileStem(Date.UTC(2026, 10, 28, 9, 15, 30), "fr"), "transcription-2026-11-28-0915Z");
      assert.deepEqual(
        uploads.map((u) => [u.filename, u.contentType]),
        [
          ["transcript-2026-11-28-0915Z.vtt", "text/vtt; charset=utf-8"],
          ["transcript-2026-11-28-0915Z.md", "text/markdown; charset=utf-8"],
        ],
      );
      assert.deepEqual(
        parseWebVtt(uploads[0]?.text ?? "").map((c) => [c.startMs, c.voice, c.text]),
        [
          [1000, "Alice", "first"],
          [4000, "Bob", "second"],
        ],
      );
      assert.match(uploads[1]?.text ?? "", /\*\*Alice\*\* \(00:01\): first/);
      assert.deepEqual(sent[0], {
        txnId: "visio-transcript.s1.file.vtt",
        content: {
          msgtype: "m.file",
          body: "transcript-2026-11-28-0915Z.vtt",
          filename: "transcript-2026-11-28-0915Z.vtt",
          url: "mxc://a.test/1",
          info: { mimetype: "text/vtt", size: Buffer.byteLength(uploads[0]?.text ?? "") },
          "m.relates_to": { rel_type: "m.thread", event_id: "$root", is_falling_back: true, "m.in_reply_to": { event_id: "$root" } },
        },
      });
      assert.deepEqual(
        posted.map((p) => [p.eventId, p.url]),
        [
          ["$file1", "mxc://a.test/1"],
          ["$file2", "mxc://a.test/2"],
        ],
      );
    });
  });

  describe("taking jobs", function () {
    interface FakeConnection {
      handlers: AgentConnectionHandlers | undefined;
      statuses: [number, number, boolean][];
      jobUpdates: [string, JobStatus, string][];
    }

    const setup = (maxJobs: number, load: () => number = () => 0.25): { worker: TranscriptionWorker; connection: FakeConnection & { handlers: AgentConnectionHandlers }; events: WorkerEvent[] } => {
      const events: WorkerEvent[] = [];
      const config: WorkerConfig = parseWorkerConfig({ ...minimalConfig, worker: { max_jobs: maxJobs } });
      const fake: FakeConnection = { handlers: undefined, statuses: [], jobUpdates: [] };
      const worker = new TranscriptionWorker(config, {
        engine: new FakeSttEngine({ sentences: [] }),
        matrix: {
          request: async () => assert.fail("no Matrix request expected"),
          sendEvent: async () => assert.fail("no Matrix request expected"),
          upload: async () => assert.fail("no Matrix request expected"),
          joinRoom: async () => assert.fail("no Matrix request expected"),
          downloadToFile: async () => assert.fail("no Matrix request expected"),
        },
        report: (event) => events.push(event),
        load,
        statusIntervalMs: 20,
        connection: {
          start: (handlers) => void (fake.handlers = handlers),
          close: async () => undefined,
          updateJob: (jobId, status, error = "") => void fake.jobUpdates.push([jobId, status, error]),
          updateStatus: (load, jobCount, full) => void fake.statuses.push([load, jobCount, full]),
        },
        rooms: { listParticipants: async () => assert.fail("no LiveKit room API call expected") },
        listener: () => assert.fail("no call joined"),
        recordingRoom: () => assert.fail("no recording room joined"),
        poster: () => assert.fail("no thread poster built"),
      });
      worker.start();
      const { handlers } = fake;
      if (handlers === undefined) throw new Error("the worker did not start its connection");
      return { worker, connection: { ...fake, handlers }, events };
    };
    const job = (id: string, room: string, metadata: unknown = METADATA): Job =>
      new Job({ id, type: JobType.JT_ROOM, room: new Room({ name: room }), metadata: typeof metadata === "string" ? metadata : JSON.stringify(metadata) });

    it("takes jobs for several calls at once, as hidden participants named per job, and reports its CPU load", function () {
      const { worker, connection } = setup(3);
      assert.deepEqual(connection.handlers.availability(job("AJ_1", "room-1"), false), { available: true, identity: "visio-transcriber-AJ_1", name: "Transcription" });
      assert.deepEqual(connection.handlers.availability(job("AJ_2", "room-2"), false), { available: true, identity: "visio-transcriber-AJ_2", name: "Transcription" });
      assert.equal(worker.jobCount, 2);
      assert.deepEqual(connection.statuses.at(-1), [0.25, 2, false], "the load is the CPU's, not the share of job slots");
    });

    it("refuses a second job for a call it already transcribes, jobs beyond max_jobs, bad metadata, and jobs while shutting down", async function () {
      const { worker, connection, events } = setup(2);
      assert.equal(connection.handlers.availability(job("AJ_1", "room-1"), false).available, true);
      assert.equal(connection.handlers.availability(job("AJ_2", "room-1"), false).available, false);
      assert.equal(connection.handlers.availability(job("AJ_3", "room-3", "{"), false).available, false);
      assert.equal(connection.handlers.availability(job("AJ_4", "room-4"), false).available, true);
      assert.deepEqual(connection.statuses.at(-1), [0.25, 2, true], "full: LiveKit offers no more jobs");
      assert.equal(connection.handlers.availability(job("AJ_5", "room-5"), false).available, false);
      assert.deepEqual(
        events.filter((e) => e.event === "job-refused").map((e) => (e.event === "job-refused" ? [e.job, e.reason] : [])),
        [
          ["AJ_2", "already transcribing this room"],
          ["AJ_3", "job metadata is not JSON"],
          ["AJ_5", "the worker is full"],
        ],
      );
      await worker.close();
      assert.equal(connection.handlers.availability(job("AJ_6", "room-6"), false).available, false);
    });

    it("sends its CPU load again while it runs, and stops when closed", async function () {
      let cpu = 0.1;
      const { worker, connection } = setup(3, () => cpu);
      const wait = (ms: number): Promise<unknown> => new Promise((resolve) => setTimeout(resolve, ms));
      await wait(50).then(() => assert.deepEqual(connection.statuses.at(-1), [0.1, 0, false]));
      cpu = 0.8;
      await wait(50).then(() => assert.deepEqual(connection.statuses.at(-1), [0.8, 0, false], "a busier worker says so without a job change"));
      await worker.close();
      assert.deepEqual(connection.statuses.splice(0).at(-1), [0.8, 0, true], "closing: full");
      await wait(60).then(() => assert.equal(connection.statuses.length, 0, "nothing more once closed"));
    });

    it("fails an assignment for a job it never accepted", function () {
      const { connection, events } = setup(2);
      connection.handlers.assignment({ job: job("AJ_x", "room-x"), token: "jwt" } as Parameters<AgentConnectionHandlers["assignment"]>[0]);
      assert.deepEqual(connection.jobUpdates, [["AJ_x", JobStatus.JS_FAILED, "not accepted by this worker"]]);
      assert.equal(events.find((e) => e.event === "error")?.event, "error");
    });
  });
  describe("French transcript files", function () {
    it("are named, titled and detailed in French", async function () {
      const uploads: { filename: string; text: string }[] = [];
      const posted = await postTranscriptFiles(
        {
          upload: async (data: Uint8Array, _type: string, filename: string) => (uploads.push({ filename, text: new TextDecoder().decode(data) }), `mxc://a.test/${uploads.length}`),
          sendEvent: async () => "$file",
        },
        {
          roomId: METADATA.room_id,
          threadRoot: "$root",
          sessionId: "s1",
          startedAt: Date.UTC(2026, 10, 28, 9, 15, 30),
          language: "fr",
          engine: "openai",
          model: "base",
          segments: [],
        },
      );
      assert.deepEqual(posted.map((p) => p.filename), ["transcription-2026-11-28-0915Z.vtt", "transcription-2026-11-28-0915Z.md"]);
      assert.equal(
        uploads[1]?.text,
        "# Transcription\n\n- Début : 2026-11-28T09:15:30.000Z\n- Langue : fr\n- Moteur : openai\n- Modèle : base\n\n_Aucune parole n'a été reconnue._\n",
      );
    });
  });
});
