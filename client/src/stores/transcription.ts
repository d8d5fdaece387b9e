// The open room's transcription switch (the state itself is room state, read by the rooms store).
import { defineStore } from "pinia";
import { computed, ref, shallowRef } from "vue";
import { asVisioError, type VisioError } from "../services/errors.ts";
import { useServices } from "../services/index.ts";
import { controlTranscription, findAppserviceUrl, serverOfAlias } from "../services/transcription/transcription-control.ts";
import { useRoomsStore } from "./rooms.ts";
import { useSessionStore } from "./session.ts";

export const useTranscriptionStore = defineStore("transcription", () => {
  const services = useServices();
  const session = useSessionStore();
  const rooms = useRoomsStore();
  const pending = ref(false);
  const failure = shallowRef<VisioError | null>(null);

  async function toggle(): Promise<void> {
    const client = session.client;
    const room = rooms.selected;
    if (client === null || room === null || pending.value) return;
    const action = rooms.transcription?.active === true ? "stop" : "start";
    pending.value = true;
    failure.value = null;
    try {
      const aliasServer = serverOfAlias(room.alias ?? "") ?? room.roomId.slice(room.roomId.indexOf(":") + 1);
      const url = await findAppserviceUrl(services.fetch, aliasServer, {
        serverName: session.serverName ?? "",
        userId: session.userId ?? "",
        wellKnown: session.wellKnown,
      });
      await controlTranscription(services.fetch, url, { roomId: room.roomId, action, openIdToken: await client.getOpenIdToken() });
    } catch (caught) {
      failure.value = asVisioError(caught);
    } finally {
      pending.value = false;
    }
  }

  return { pending: computed(() => pending.value), failure: computed(() => failure.value), toggle };
});
