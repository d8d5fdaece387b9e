// Every transcript of a room, read from its homeserver rather than from the timeline the client
// has loaded: the room's threads (`GET /_matrix/client/v1/rooms/{roomId}/threads`, every page), and
// for each "Transcription started" root, its whole thread (`/relations/{root}/m.thread`, every page,
// oldest first). The server bundles each utterance's latest edit with it, so the lines come final
// without fetching the edits one by one.
import { ClientPrefix, Direction, Method, type MatrixClient } from "matrix-js-sdk";
import { sessionFieldsOf, sessionFromThread, type ServerEvent, type TranscriptSession } from "../../transcript/transcript-sessions.ts";

export interface EventPage {
  chunk: ServerEvent[];
  next_batch?: string;
}

/** What the history needs from the homeserver. */
export interface TranscriptHistorySource {
  /** A page of the room's thread roots, most recently active first. */
  threads(roomId: string, from: string | undefined): Promise<EventPage>;
  /** A page of the replies in a thread, oldest first. */
  replies(roomId: string, rootId: string, from: string | undefined): Promise<EventPage>;
}

const THREADS_PAGE = 50;
const REPLIES_PAGE = 100;
/** Bounds a room with an endless history (or a server that keeps answering next_batch) to a few thousand requests. */
const MAX_PAGES = 400;
const PARALLEL_THREADS = 4;

export function transcriptHistorySource(client: Pick<MatrixClient, "http" | "fetchRelations">): TranscriptHistorySource {
  return {
    async threads(roomId, from) {
      const query: Record<string, string> = { include: "all", limit: String(THREADS_PAGE) };
      if (from !== undefined) query.from = from;
      const path = `/rooms/${encodeURIComponent(roomId)}/threads`;
      return client.http.authedRequest<EventPage>(Method.Get, path, query, undefined, { prefix: ClientPrefix.V1 });
    },
    async replies(roomId, rootId, from) {
      const page = await client.fetchRelations(roomId, rootId, "m.thread", null, {
        dir: Direction.Forward,
        limit: REPLIES_PAGE,
        ...(from === undefined ? {} : { from }),
      });
      return { chunk: page.chunk as unknown as ServerEvent[], ...(page.next_batch ? { next_batch: page.next_batch } : {}) };
    },
  };
}

async function allPages(next: (from: string | undefined) => Promise<EventPage>): Promise<ServerEvent[]> {
  const events: ServerEvent[] = [];
  let from: string | undefined;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const { chunk, next_batch: nextBatch } = await next(from);
    events.push(...chunk);
    if (nextBatch === undefined || nextBatch === from || chunk.length === 0) break;
    from = nextBatch;
  }
  return events;
}

/** Every transcript session of the room, newest first. */
export async function fetchTranscriptSessions(source: TranscriptHistorySource, roomId: string): Promise<TranscriptSession[]> {
  const roots = (await allPages((from) => source.threads(roomId, from))).filter((root) => sessionFieldsOf(root) !== undefined);
  const sessions: TranscriptSession[] = [];
  for (let i = 0; i < roots.length; i += PARALLEL_THREADS) {
    const batch = roots.slice(i, i + PARALLEL_THREADS);
    const threads = await Promise.all(batch.map(async (root) => sessionFromThread(root, await allPages((from) => source.replies(roomId, root.event_id, from)))));
    for (const session of threads) if (session !== null) sessions.push(session);
  }
  return sessions.sort((a, b) => b.startedAt - a.startedAt);
}
