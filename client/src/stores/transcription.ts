// The open room's transcription switch (the state itself is room state, read by the rooms store).
import { defineStore } from "pinia";
import { computed, ref, shallowRef } from "vue";
import { asVisioError, type VisioError } from "../services/errors.ts";
import { useServices } from "../services/index.ts";
import { appserviceOfRoom, controlTranscription } from "../services/transcription/transcription-control.ts";
import { useRoomsStore } from "./rooms.ts";
import { useSessionStore } from "./session.ts";

/** The languages a meeting can be transcribed in, as the transcription service's default models cover them. */
export const TRANSCRIPTION_LANGUAGES = ["fr", "en"] as const;
export type TranscriptionLanguage = (typeof TRANSCRIPTION_LANGUAGES)[number];

export const useTranscriptionStore = defineStore("transcription", () => {
  const services = useServices();
  const session = useSessionStore();
  const rooms = useRoomsStore();
  const pending = ref(false);
  const failure = shallowRef<VisioError | null>(null);
  /** The language a start asks for; "" leaves it to the meeting's server (French by default). */
  const language = ref<"" | TranscriptionLanguage>("");

  async function toggle(): Promise<void> {
    const client = session.client;
    const room = rooms.selected;
    if (client === null || room === null || pending.value) return;
    const action = rooms.transcription?.active === true ? "stop" : "start";
    pending.value = true;
    failure.value = null;
    try {
      const url = await appserviceOfRoom(services.fetch, room, session);
      await controlTranscription(services.fetch, url, {
        roomId: room.roomId,
        action,
        openIdToken: await client.getOpenIdToken(),
        ...(action === "start" && language.value !== "" ? { language: language.value } : {}),
      });
    } catch (caught) {
      failure.value = asVisioError(caught);
    } finally {
      pending.value = false;
    }
  }

  return { pending: computed(() => pending.value), failure: computed(() => failure.value), language, toggle };
});
