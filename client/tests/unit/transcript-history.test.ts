// A room's whole transcript from its homeserver, with a fake of the two requests: every page of the
// thread list, only "Transcription started" roots, every page of each thread, the latest edit the
// server bundles (by the utterance's sender only), redacted and non-transcript replies left out.
import assert from "node:assert/strict";
import { createClient } from "matrix-js-sdk";
import { fetchTranscriptSessions, transcriptHistorySource, type EventPage, type TranscriptHistorySource } from "../../src/services/transcript/transcript-history.ts";
import type { ServerEvent } from "../../src/transcript/transcript-sessions.ts";
import { silentLogger } from "./doubles.ts";

const BRIDGE = "@visio-transcriber:ministry-a.test";
const ROOM = "!meeting:ministry-a.test";

function root(id: string, ts: number, session = true): ServerEvent {
  return {
    event_id: id,
    sender: "@visio:ministry-a.test",
    type: "m.room.message",
    origin_server_ts: ts,
    content: session ? { msgtype: "m.notice", body: "Transcription démarrée", "org.visio.transcript.session": { language: "fr", engine: "openai" } } : { msgtype: "m.text", body: "A question" },
  };
}

function utterance(id: string, ts: number, text: string, final: boolean, edit?: { text: string; sender?: string }): ServerEvent {
  const fields = (f: boolean) => ({ speaker: "@alice:ministry-a.test", speaker_name: "Alice", start_ms: 0, end_ms: 1000, language: "fr", engine: "openai", final: f });
  const event: ServerEvent = { event_id: id, sender: BRIDGE, type: "m.room.message", origin_server_ts: ts, content: { msgtype: "m.notice", body: `Alice: ${text}`, "org.visio.transcript": fields(final) } };
  if (edit !== undefined) {
    const replacement = { msgtype: "m.notice", body: `Alice: ${edit.text}`, "org.visio.transcript": fields(true) };
    event.unsigned = {
      "m.relations": { "m.replace": { event_id: `${id}-edit`, sender: edit.sender ?? BRIDGE, type: "m.room.message", origin_server_ts: ts + 500, content: { ...replacement, body: `* ${replacement.body}`, "m.new_content": replacement } } },
    };
  }
  return event;
}

/** Pages of `size` over `events`, next_batch being the next index. */
function paged(events: ServerEvent[], size: number, from: string | undefined): EventPage {
  const start = from === undefined ? 0 : Number(from);
  const end = start + size;
  return { chunk: events.slice(start, end), ...(end < events.length ? { next_batch: String(end) } : {}) };
}

describe("transcript history (every thread of the room)", () => {
  it("reads every page of threads and replies, keeps transcript threads only, applies bundled edits", async () => {
    const threads = [root("$chat", 9000, false), root("$t2", 5000), root("$t1", 1000)];
    const replies: Record<string, ServerEvent[]> = {
      $t1: [
        utterance("$a", 1100, "Bonjour", false, { text: "Bonjour à tous." }),
        utterance("$b", 1200, "Le budget", false, { text: "Le budget est voté.", sender: "@mallory:ministry-b.test" }),
        { ...utterance("$c", 1300, "retiré", true), unsigned: { redacted_because: { event_id: "$r" } } },
        { event_id: "$file", sender: BRIDGE, type: "m.room.message", origin_server_ts: 1400, content: { msgtype: "m.file", body: "transcription.vtt" } },
        utterance("$d", 1500, "Fin de la séance.", true),
      ],
      $t2: [utterance("$e", 5100, "Deuxième réunion.", true)],
    };
    const requests: string[] = [];
    const source: TranscriptHistorySource = {
      threads: async (roomId, from) => {
        assert.equal(roomId, ROOM);
        requests.push(`threads ${from ?? "-"}`);
        return paged(threads, 2, from);
      },
      replies: async (roomId, rootId, from) => {
        assert.equal(roomId, ROOM);
        requests.push(`replies ${rootId} ${from ?? "-"}`);
        return paged(replies[rootId] ?? [], 2, from);
      },
    };

    const sessions = await fetchTranscriptSessions(source, ROOM);
    assert.deepEqual(
      sessions.map((s) => ({ root: s.rootId, lines: s.lines.map((l) => `${l.speakerName}|${l.text}|${l.final}`) })),
      [
        { root: "$t2", lines: ["Alice|Deuxième réunion.|true"] },
        { root: "$t1", lines: ["Alice|Bonjour à tous.|true", "Alice|Le budget|false", "Alice|Fin de la séance.|true"] },
      ],
    );
    assert.ok(!requests.some((r) => r.startsWith("replies $chat")), "a chat thread's replies are not read");
    assert.deepEqual(requests.filter((r) => r.startsWith("threads")), ["threads -", "threads 2"]);
    assert.deepEqual(requests.filter((r) => r.startsWith("replies $t1")), ["replies $t1 -", "replies $t1 2", "replies $t1 4"]);
  });

  it("fails as the server does, for the store to say so", async () => {
    const source: TranscriptHistorySource = {
      threads: () => Promise.reject(new Error("unreachable")),
      replies: () => Promise.reject(new Error("not called")),
    };
    await assert.rejects(fetchTranscriptSessions(source, ROOM), /unreachable/);
  });

  it("asks through matrix-js-sdk: the v1 thread list (all threads), each thread's replies oldest first", async () => {
    const urls: URL[] = [];
    const fetchFn = async (input: RequestInfo | URL): Promise<Response> => {
      const url = new URL(String(input));
      urls.push(url);
      const body = url.pathname.endsWith("/threads")
        ? { chunk: [root("$t1", 1000)] }
        : { chunk: [utterance("$a", 1100, "Bonjour.", true)], ...(url.searchParams.has("from") ? {} : { next_batch: "page2" }) };
      return new Response(JSON.stringify(body), { status: 200, headers: { "content-type": "application/json" } });
    };
    const client = createClient({ baseUrl: "https://matrix.ministry-a.test", accessToken: "token", userId: "@bob:ministry-a.test", fetchFn: fetchFn as typeof fetch, logger: silentLogger });
    const sessions = await fetchTranscriptSessions(transcriptHistorySource(client), ROOM);
    assert.equal(sessions[0]?.lines.length, 2, "both pages of the thread");
    const [threads, first, second] = urls;
    assert.equal(threads?.pathname, `/_matrix/client/v1/rooms/${encodeURIComponent(ROOM)}/threads`);
    assert.equal(threads?.searchParams.get("include"), "all");
    assert.equal(first?.pathname, `/_matrix/client/v1/rooms/${encodeURIComponent(ROOM)}/relations/${encodeURIComponent("$t1")}/m.thread`);
    assert.equal(first?.searchParams.get("dir"), "f");
    assert.equal(second?.searchParams.get("from"), "page2");
    client.stopClient();
  });
});
