// The user's meeting rooms: the list, the one open, joining by alias or link, creating one, and each
// room's members. Invitations and admission are admission.ts's.
import { KnownMembership, MatrixError, type MatrixClient, type Room, type RoomMember } from "matrix-js-sdk";
import { defineStore } from "pinia";
import { computed, ref, shallowRef } from "vue";
import type { TranscriptionStateContent } from "../../../config/wire-types.ts";
import { BOT_MEMBER_KEY, TRANSCRIPTION_STATE_EVENT } from "../../../config/wire-types.ts";
import { ERRCODE, VisioError, asVisioError } from "../services/errors.ts";
import { useServices } from "../services/index.ts";
import { createMeeting as createMeetingRequest } from "../services/meetings/meeting-creation.ts";
import { appserviceUrlFromWellKnown } from "../services/transcription/transcription-control.ts";
import { ministryOf } from "../timeline/timeline-model.ts";
import { useClientRevision } from "./client-revision.ts";
import { useSessionStore } from "./session.ts";

export interface RoomSummary {
  roomId: string;
  name: string;
  alias: string | null;
  memberCount: number;
  lastActivity: number;
}

export interface MemberSummary {
  userId: string;
  name: string;
  ministry: string;
}

// "#visio-x:server": a localpart and a server part, as the spec's room alias grammar.
const ALIAS = /^#[^:\s]+:[^\s]+$/;
// "!opaque:server": a room ID, which a shared link names when the room has no alias.
const ROOM_ID = /^![^:\s]+:[^\s]+$/;

/**
 * A bot (the appservice's or the transcription bridge's, of any ministry): it says so in its own
 * membership. Bots are services of the meeting, not people: never listed or counted with them.
 */
export function isBotMember(member: Pick<RoomMember, "events">): boolean {
  return member.events.member?.getContent()[BOT_MEMBER_KEY] === true;
}

function summaryOf(room: Room): RoomSummary {
  return {
    roomId: room.roomId,
    name: room.name,
    alias: room.getCanonicalAlias(),
    memberCount: room.getJoinedMembers().filter((member) => !isBotMember(member)).length,
    lastActivity: room.getLastActiveTimestamp(),
  };
}

export function transcriptionStateOf(room: Room | null): TranscriptionStateContent | null {
  const event = room?.currentState.getStateEvents(TRANSCRIPTION_STATE_EVENT, "");
  const content = event?.getContent<Partial<TranscriptionStateContent>>();
  return content !== undefined && typeof content.active === "boolean" ? (content as TranscriptionStateContent) : null;
}

export function joinError(error: unknown, alias: string): VisioError {
  if (error instanceof MatrixError && error.errcode === "M_FORBIDDEN") {
    return new VisioError(error.errcode, "rooms.admissionRequired", { params: { alias }, cause: error });
  }
  if (error instanceof MatrixError && (error.errcode === "M_NOT_FOUND" || error.httpStatus === 404)) {
    return new VisioError(error.errcode ?? ERRCODE.notFound, "rooms.notFound", { params: { alias }, cause: error });
  }
  // The meeting's own server did not answer ours (a mistyped server name, or that server is down).
  if (error instanceof MatrixError && (error.httpStatus === 502 || error.httpStatus === 504)) {
    const server = alias.slice(alias.indexOf(":") + 1);
    return new VisioError(ERRCODE.serverDown, "rooms.serverUnreachable", { params: { server }, retryable: true, cause: error });
  }
  return asVisioError(error);
}

export const useRoomsStore = defineStore("rooms", () => {
  const services = useServices();
  const session = useSessionStore();
  const client = computed<MatrixClient | null>(() => session.client);
  const revision = useClientRevision(client);
  const selectedRoomId = ref<string | null>(null);
  const joining = ref(false);
  const joinFailure = shallowRef<VisioError | null>(null);
  const creating = ref(false);
  const createFailure = shallowRef<VisioError | null>(null);

  const rooms = computed<RoomSummary[]>(() => {
    void revision.value;
    const matrix = client.value;
    if (matrix === null) return [];
    return matrix
      .getRooms()
      .filter((room) => room.getMyMembership() === KnownMembership.Join)
      .map(summaryOf)
      .sort((a, b) => b.lastActivity - a.lastActivity);
  });

  const selectedRoom = computed<Room | null>(() => {
    void revision.value;
    const id = selectedRoomId.value;
    return id === null ? null : (client.value?.getRoom(id) ?? null);
  });

  const selected = computed<RoomSummary | null>(() => {
    void revision.value;
    return selectedRoom.value === null ? null : summaryOf(selectedRoom.value);
  });

  const joined = computed<{ people: MemberSummary[]; services: MemberSummary[] }>(() => {
    void revision.value;
    const room = selectedRoom.value;
    const people: MemberSummary[] = [];
    const services: MemberSummary[] = [];
    for (const member of room?.getJoinedMembers() ?? []) {
      const summary = { userId: member.userId, name: member.name || member.userId, ministry: ministryOf(member.userId) };
      (isBotMember(member) ? services : people).push(summary);
    }
    const byName = (a: MemberSummary, b: MemberSummary): number => a.name.localeCompare(b.name);
    return { people: people.sort(byName), services: services.sort(byName) };
  });
  /** The people in the meeting: what "Participants (N)" counts. */
  const members = computed<MemberSummary[]>(() => joined.value.people);
  /** The meeting's bots (its server's, the transcription's), shown apart and not counted. */
  const serviceMembers = computed<MemberSummary[]>(() => joined.value.services);

  const transcription = computed(() => {
    void revision.value;
    return transcriptionStateOf(selectedRoom.value);
  });

  function displayName(userId: string): string {
    void revision.value;
    return selectedRoom.value?.getMember(userId)?.name || userId;
  }

  /** The join failure is answered (the user asked to enter instead): it is no longer shown. */
  function clearJoinFailure(): void {
    joinFailure.value = null;
  }

  function select(roomId: string | null): void {
    selectedRoomId.value = roomId;
  }

  /**
   * Opens the meeting a link names (a room alias or ID): at once when the user is in it already,
   * otherwise after joining it. False, with `joinFailure` set, when it cannot be opened.
   */
  async function open(roomRef: string): Promise<boolean> {
    const matrix = client.value;
    if (matrix === null) return false;
    const known = matrix
      .getRooms()
      .find(
        (room) =>
          room.getMyMembership() === KnownMembership.Join &&
          (room.roomId === roomRef || room.getCanonicalAlias() === roomRef || room.getAltAliases().includes(roomRef)),
      );
    if (known !== undefined) {
      joinFailure.value = null;
      selectedRoomId.value = known.roomId;
      return true;
    }
    return joinByAlias(roomRef);
  }

  /**
   * "Nouvelle réunion": the user's own ministry's appservice creates the meeting with their title; they
   * join it and it opens. False, with `createFailure` set, when it cannot be done.
   */
  async function createMeeting(title: string): Promise<boolean> {
    const matrix = client.value;
    if (matrix === null || creating.value) return false;
    creating.value = true;
    createFailure.value = null;
    try {
      const url = appserviceUrlFromWellKnown(session.wellKnown);
      if (url === null) throw new VisioError(ERRCODE.notFound, "meetings.noService");
      const meeting = await createMeetingRequest(services.fetch, url, title, await matrix.getOpenIdToken());
      const room = await matrix.joinRoom(meeting.room_id);
      selectedRoomId.value = room.roomId;
      return true;
    } catch (error) {
      createFailure.value = asVisioError(error);
      return false;
    } finally {
      creating.value = false;
    }
  }

  async function joinByAlias(input: string): Promise<boolean> {
    const alias = input.trim();
    joinFailure.value = null;
    if (!ALIAS.test(alias) && !ROOM_ID.test(alias)) {
      joinFailure.value = new VisioError(ERRCODE.invalidParam, "rooms.badAlias");
      return false;
    }
    const matrix = client.value;
    if (matrix === null) return false;
    joining.value = true;
    try {
      const room = await matrix.joinRoom(alias);
      selectedRoomId.value = room.roomId;
      return true;
    } catch (error) {
      joinFailure.value = joinError(error, alias);
      return false;
    } finally {
      joining.value = false;
    }
  }

  return {
    rooms,
    selected,
    selectedRoom,
    members,
    serviceMembers,
    transcription,
    joining: computed(() => joining.value),
    joinFailure: computed(() => joinFailure.value),
    creating: computed(() => creating.value),
    createFailure: computed(() => createFailure.value),
    revision: computed(() => revision.value),
    displayName,
    select,
    clearJoinFailure,
    open,
    joinByAlias,
    createMeeting,
  };
});
