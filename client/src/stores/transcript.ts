// The open room's whole transcript: every session the server has (earlier calls included), merged
// with what the loaded timeline holds (the call being transcribed now), and a search across them.
import { defineStore } from "pinia";
import { computed, ref, shallowRef, watch } from "vue";
import { asVisioError, reasonOf, VisioError } from "../services/errors.ts";
import { fetchTranscriptSessions, transcriptHistorySource } from "../services/transcript/transcript-history.ts";
import { mergeSessions, searchSessions, sessionFromTimeline, type TranscriptSession } from "../transcript/transcript-sessions.ts";
import { useRoomsStore } from "./rooms.ts";
import { useSessionStore } from "./session.ts";
import { useTimelineStore } from "./timeline.ts";

export const useTranscriptStore = defineStore("transcript", () => {
  const session = useSessionStore();
  const rooms = useRoomsStore();
  const timeline = useTimelineStore();
  const fetched = shallowRef<{ roomId: string; sessions: TranscriptSession[] } | null>(null);
  const loading = ref(false);
  const failure = shallowRef<VisioError | null>(null);
  const query = ref("");
  // A load for a room the user has left meanwhile must not land in the new one.
  let generation = 0;

  const roomId = computed(() => rooms.selectedRoom?.roomId ?? null);
  const loaded = computed(() => fetched.value !== null && fetched.value.roomId === roomId.value);

  const sessions = computed<TranscriptSession[]>(() => {
    const history = loaded.value ? (fetched.value?.sessions ?? []) : [];
    const live = timeline.transcripts.map(({ root, replies }) => sessionFromTimeline(root, replies));
    return mergeSessions(history, live);
  });
  const matches = computed(() => searchSessions(sessions.value, query.value));

  watch(roomId, () => {
    generation += 1;
    query.value = "";
    failure.value = null;
    loading.value = false;
  });

  /** Reads every transcript of the open room from its homeserver; what was shown stays until it is done. */
  async function load(): Promise<void> {
    const client = session.client;
    const room = roomId.value;
    if (client === null || room === null) return;
    generation += 1;
    const mine = generation;
    loading.value = true;
    failure.value = null;
    try {
      const result = await fetchTranscriptSessions(transcriptHistorySource(client), room);
      if (mine === generation) fetched.value = { roomId: room, sessions: result };
    } catch (error) {
      if (mine !== generation) return;
      const cause = asVisioError(error);
      failure.value = new VisioError(cause.errcode, "transcript.loadFailed", { reason: reasonOf(error), cause: error, detail: cause.message, retryable: true });
    } finally {
      if (mine === generation) loading.value = false;
    }
  }

  return {
    sessions,
    matches,
    query,
    loaded,
    loading: computed(() => loading.value),
    failure: computed(() => failure.value),
    load,
  };
});
