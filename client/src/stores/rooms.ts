// The user's meeting rooms: the list, the one open, joining by alias or link, creating one, and each
// room's members.
import { EventType, JoinRule, KnownMembership, MatrixError, type MatrixClient, type Room } from "matrix-js-sdk";
import { defineStore } from "pinia";
import { computed, ref, shallowRef, watch } from "vue";
import type { TranscriptionStateContent } from "../../../wire-types.ts";
import { TRANSCRIPTION_STATE_EVENT } from "../../../wire-types.ts";
import { ERRCODE, VisioError, asVisioError } from "../services/errors.ts";
import { useServices } from "../services/index.ts";
import { createMeeting as createMeetingRequest } from "../services/meetings/meeting-creation.ts";
import { userIdFromInput } from "../services/matrix/user-id.ts";
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

/** A meeting the user is invited to and has not answered yet. */
export interface InvitationSummary {
  roomId: string;
  name: string;
  /** Who invited them, as the room names them. */
  inviter: string;
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

function summaryOf(room: Room): RoomSummary {
  return {
    roomId: room.roomId,
    name: room.name,
    alias: room.getCanonicalAlias(),
    memberCount: room.getJoinedMemberCount(),
    lastActivity: room.getLastActiveTimestamp(),
  };
}

export function transcriptionStateOf(room: Room | null): TranscriptionStateContent | null {
  const event = room?.currentState.getStateEvents(TRANSCRIPTION_STATE_EVENT, "");
  const content = event?.getContent<Partial<TranscriptionStateContent>>();
  return content !== undefined && typeof content.active === "boolean" ? (content as TranscriptionStateContent) : null;
}

/** Moderators (50 and up, as in Element) admit and refuse who waits, and choose whether the meeting asks for admission. */
export const MODERATOR_POWER_LEVEL = 50;

/** Tries of a join after an invitation (see acceptInvitation): 0.5, 1 and 1.5 s apart. */
const JOIN_ATTEMPTS = 4;

/** A meeting the user asked to enter (Matrix knock): waiting for a moderator, or refused. */
export interface Lobby {
  roomId: string;
  roomRef: string;
  state: "waiting" | "refused";
}

export function joinError(error: unknown, alias: string): VisioError {
  if (error instanceof MatrixError && error.errcode === "M_FORBIDDEN") {
    return new VisioError(error.errcode, "rooms.admissionRequired", { params: { alias }, cause: error });
  }
  if (error instanceof MatrixError && (error.errcode === "M_NOT_FOUND" || error.httpStatus === 404)) {
    return new VisioError(error.errcode ?? ERRCODE.notFound, "rooms.notFound", { params: { alias }, cause: error });
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
  /** A meeting that refused a join: the user may ask to enter it. */
  const admissionCandidate = ref<string | null>(null);
  const lobby = ref<Lobby | null>(null);
  /** The knock was seen in the room: a later "leave" is a refusal, not sync lagging behind. */
  let knockSeen = false;
  const inviting = ref(false);
  const inviteFailure = shallowRef<VisioError | null>(null);
  /** The last person invited from this page, for the "invitation sent" line. */
  const invited = ref<string | null>(null);

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

  const invitations = computed<InvitationSummary[]>(() => {
    void revision.value;
    const matrix = client.value;
    if (matrix === null) return [];
    const me = matrix.getUserId() ?? "";
    return matrix
      .getRooms()
      .filter((room) => room.getMyMembership() === KnownMembership.Invite)
      .map((room) => {
        const inviterId = room.getMember(me)?.events.member?.getSender() ?? "";
        return { roomId: room.roomId, name: room.name, inviter: room.getMember(inviterId)?.name || inviterId };
      });
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

  const members = computed<MemberSummary[]>(() => {
    void revision.value;
    const room = selectedRoom.value;
    if (room === null) return [];
    return room
      .getJoinedMembers()
      .map((member) => ({ userId: member.userId, name: member.name || member.userId, ministry: ministryOf(member.userId) }))
      .sort((a, b) => a.name.localeCompare(b.name));
  });

  /** Who knocked on the open meeting and waits for a moderator. */
  const waiting = computed<MemberSummary[]>(() => {
    void revision.value;
    const room = selectedRoom.value;
    if (room === null) return [];
    return room
      .getMembersWithMembership(KnownMembership.Knock)
      .map((member) => ({ userId: member.userId, name: member.name || member.userId, ministry: ministryOf(member.userId) }));
  });

  const isModerator = computed(() => {
    void revision.value;
    const room = selectedRoom.value;
    const me = client.value?.getUserId();
    return room !== null && me !== undefined && me !== null && (room.getMember(me)?.powerLevel ?? 0) >= MODERATOR_POWER_LEVEL;
  });

  const admissionRequired = computed(() => {
    void revision.value;
    return selectedRoom.value?.getJoinRule() === "knock";
  });

  const transcription = computed(() => {
    void revision.value;
    return transcriptionStateOf(selectedRoom.value);
  });

  function displayName(userId: string): string {
    void revision.value;
    return selectedRoom.value?.getMember(userId)?.name || userId;
  }

  function select(roomId: string | null): void {
    selectedRoomId.value = roomId;
  }

  // What was said about inviting belongs to the meeting it was said in.
  watch(selectedRoomId, () => {
    invited.value = null;
    inviteFailure.value = null;
  });

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

  /** Invites into the open meeting the person typed (a Matrix ID or name@server), of any allowed ministry. */
  async function invite(input: string): Promise<boolean> {
    const matrix = client.value;
    const roomId = selectedRoomId.value;
    if (matrix === null || roomId === null || inviting.value) return false;
    inviteFailure.value = null;
    invited.value = null;
    const userId = userIdFromInput(input);
    if (userId === null) {
      inviteFailure.value = new VisioError(ERRCODE.invalidParam, "members.badInvitee");
      return false;
    }
    inviting.value = true;
    try {
      await matrix.invite(roomId, userId);
      invited.value = userId;
      return true;
    } catch (error) {
      inviteFailure.value =
        error instanceof MatrixError
          ? new VisioError(error.errcode ?? ERRCODE.unknown, "members.inviteFailed", { params: { user: userId, message: error.data.error ?? error.message }, cause: error })
          : asVisioError(error);
      return false;
    } finally {
      inviting.value = false;
    }
  }

  /**
   * Accepts an invitation: joins the meeting and opens it. A refusal right after the invite is asked
   * again, a few times: when the user's homeserver is already in the room (a colleague of the same
   * ministry is a member) and has not yet applied the invite it was sent, Synapse 1.163 builds the join
   * on both the knock and the invite and refuses it ("duplicate auth_events"); a moment later it joins.
   */
  async function acceptInvitation(roomId: string): Promise<boolean> {
    const matrix = client.value;
    if (matrix === null) return false;
    joinFailure.value = null;
    joining.value = true;
    try {
      let room: Room;
      for (let attempt = 1; ; attempt++) {
        try {
          room = await matrix.joinRoom(roomId);
          break;
        } catch (error) {
          if (!(error instanceof MatrixError && error.errcode === "M_FORBIDDEN") || attempt >= JOIN_ATTEMPTS) throw error;
          await new Promise((resolve) => setTimeout(resolve, attempt * 500));
        }
      }
      selectedRoomId.value = room.roomId;
      return true;
    } catch (error) {
      joinFailure.value = asVisioError(error);
      return false;
    } finally {
      joining.value = false;
    }
  }

  async function declineInvitation(roomId: string): Promise<void> {
    const matrix = client.value;
    if (matrix === null) return;
    try {
      await matrix.leave(roomId);
    } catch (error) {
      joinFailure.value = asVisioError(error);
    }
  }

  /** Asks to enter the meeting that refused the join: the lobby waits for a moderator's answer. */
  async function knock(): Promise<boolean> {
    const matrix = client.value;
    const roomRef = admissionCandidate.value;
    if (matrix === null || roomRef === null) return false;
    joinFailure.value = null;
    try {
      const { room_id: roomId } = await matrix.knockRoom(roomRef);
      admissionCandidate.value = null;
      knockSeen = false;
      lobby.value = { roomId, roomRef, state: "waiting" };
      selectedRoomId.value = null;
      return true;
    } catch (error) {
      joinFailure.value =
        error instanceof MatrixError && error.errcode === "M_FORBIDDEN"
          ? new VisioError(error.errcode, "lobby.knockRefused", { params: { alias: roomRef }, cause: error })
          : asVisioError(error);
      return false;
    }
  }

  function leaveLobby(): void {
    lobby.value = null;
  }

  // The lobby follows the room as sync shows it: invited (admitted) → joined and opened; left after the
  // knock was seen → refused.
  watch(revision, () => {
    const waitingFor = lobby.value;
    const matrix = client.value;
    if (waitingFor === null || waitingFor.state !== "waiting" || matrix === null) return;
    const membership = matrix.getRoom(waitingFor.roomId)?.getMyMembership();
    if (membership === KnownMembership.Knock) knockSeen = true;
    else if (membership === KnownMembership.Invite || membership === KnownMembership.Join) {
      lobby.value = null;
      void acceptInvitation(waitingFor.roomId);
    } else if (knockSeen && (membership === KnownMembership.Leave || membership === KnownMembership.Ban)) {
      lobby.value = { ...waitingFor, state: "refused" };
    }
  });

  /** A moderator lets in someone who knocked (an invite, which their client accepts). */
  async function admit(userId: string): Promise<void> {
    const matrix = client.value;
    const roomId = selectedRoomId.value;
    if (matrix === null || roomId === null) return;
    try {
      await matrix.invite(roomId, userId);
    } catch (error) {
      inviteFailure.value = asVisioError(error);
    }
  }

  /** A moderator turns a knock down: its author is told. */
  async function refuse(userId: string): Promise<void> {
    const matrix = client.value;
    const roomId = selectedRoomId.value;
    if (matrix === null || roomId === null) return;
    try {
      await matrix.kick(roomId, userId);
    } catch (error) {
      inviteFailure.value = asVisioError(error);
    }
  }

  /** Whether joining the open meeting takes a moderator's admission (join rule knock) or not (public). */
  async function setAdmissionRequired(required: boolean): Promise<void> {
    const matrix = client.value;
    const roomId = selectedRoomId.value;
    if (matrix === null || roomId === null) return;
    try {
      await matrix.sendStateEvent(roomId, EventType.RoomJoinRules, { join_rule: required ? JoinRule.Knock : JoinRule.Public }, "");
    } catch (error) {
      inviteFailure.value = asVisioError(error);
    }
  }

  async function joinByAlias(input: string): Promise<boolean> {
    const alias = input.trim();
    joinFailure.value = null;
    admissionCandidate.value = null;
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
      if (joinFailure.value.messageKey === "rooms.admissionRequired") admissionCandidate.value = alias;
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
    transcription,
    joining: computed(() => joining.value),
    joinFailure: computed(() => joinFailure.value),
    creating: computed(() => creating.value),
    invitations,
    waiting,
    isModerator,
    admissionRequired,
    admissionCandidate: computed(() => admissionCandidate.value),
    lobby: computed(() => lobby.value),
    inviting: computed(() => inviting.value),
    inviteFailure: computed(() => inviteFailure.value),
    invited: computed(() => invited.value),
    createFailure: computed(() => createFailure.value),
    revision: computed(() => revision.value),
    displayName,
    select,
    open,
    joinByAlias,
    createMeeting,
    invite,
    acceptInvitation,
    declineInvitation,
    knock,
    leaveLobby,
    admit,
    refuse,
    setAdmissionRequired,
  };
});
