// Builds the SDK client of a signed-in session. Threads are kept in the main timeline
// (threadSupport off): the client groups them itself, so transcripts and their edits arrive in
// one ordered list whatever the SDK's thread heuristics.
import { createClient, type MatrixClient } from "matrix-js-sdk";
import type { Logger } from "matrix-js-sdk/lib/logger.js";
import type { FetchLike } from "./homeserver-discovery.ts";
import type { StoredSession } from "./session-storage.ts";

export type MatrixClientFactory = (session: StoredSession) => MatrixClient;

export function createMatrixClientFactory(fetchFn: FetchLike, options: { logger?: Logger } = {}): MatrixClientFactory {
  return (session) =>
    createClient({
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      baseUrl: session.baseUrl,
      userId: session.userId,
      deviceId: session.deviceId,
      accessToken: session.accessToken,
      fetchFn: fetchFn as typeof fetch,
      timelineSupport: true,
      useAuthorizationHeader: true,
    });
}

export const SYNC_OPTIONS = { initialSyncLimit: 100, lazyLoadMembers: false, threadSupport: false } as const;
