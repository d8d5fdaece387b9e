// Who gets into a meeting besides those who join it freely: invitations (sent and received) and, for a
// meeting that asks for admission (join rule knock), the lobby of the one who asks to enter and the
// waiting room its moderators answer from.
import { EventType, JoinRule, KnownMembership, MatrixError, type Room } from "matrix-js-sdk";
import { defineStore } from "pinia";
import { computed, ref, shallowRef, watch } from "vue";
import { ERRCODE, VisioError, asVisioError, reasonOf } from "../services/errors.ts";
import { userIdFromInput } from "../services/matrix/user-id.ts";
import { ministryOf } from "../timeline/timeline-model.ts";
import { useRoomsStore, type MemberSummary } from "./rooms.ts";
import { useSessionStore } from "./session.ts";

/** Moderators (50 and up, as in Element) admit and turn down who waits, and choose whether the meeting asks for admission. */
export const MODERATOR_POWER_LEVEL = 50;

/** Tries of a join after an invitation (see acceptInvitation): 0.5, 1 and 1.5 s apart. */
const JOIN_ATTEMPTS = 4;

/** A meeting the user is invited to and has not answered yet. */
export interface InvitationSummary {
  roomId: string;
  name: string;
  /** Who invited them, as the room names them. */
  inviter: string;
}

/** A meeting the user asked to enter (Matrix knock): waiting for a moderator, or refused. */
export interface Lobby {
  roomId: string;
  roomRef: string;
  state: "waiting" | "refused";
}

export const useAdmissionStore = defineStore("admission", () => {
  const session = useSessionStore();
  const rooms = useRoomsStore();
  const lobby = ref<Lobby | null>(null);
  /** The knock was seen in the room: a later "leave" is a refusal, not sync lagging behind. */
  let knockSeen = false;
  const failure = shallowRef<VisioError | null>(null);
  const inviting = ref(false);
  const inviteFailure = shallowRef<VisioError | null>(null);
  /** The last person invited from this page, for the "invitation sent" line. */
  const invited = ref<string | null>(null);

  const invitations = computed<InvitationSummary[]>(() => {
    void rooms.revision;
    const matrix = session.client;
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

  /** A meeting that refused the user's join: they may ask to enter it. */
  const candidate = computed<string | null>(() => {
    const refusal = rooms.joinFailure;
    return refusal?.messageKey === "rooms.admissionRequired" ? String(refusal.params.alias) : null;
  });

  /** Who knocked on the open meeting and waits for a moderator. */
  const waiting = computed<MemberSummary[]>(() => {
    void rooms.revision;
    const room = rooms.selectedRoom;
    if (room === null) return [];
    return room
      .getMembersWithMembership(KnownMembership.Knock)
      .map((member) => ({ userId: member.userId, name: member.name || member.userId, ministry: ministryOf(member.userId) }));
  });

  const isModerator = computed(() => {
    void rooms.revision;
    const room = rooms.selectedRoom;
    const me = session.client?.getUserId();
    return room !== null && typeof me === "string" && (room.getMember(me)?.powerLevel ?? 0) >= MODERATOR_POWER_LEVEL;
  });

  const required = computed(() => {
    void rooms.revision;
    return rooms.selectedRoom?.getJoinRule() === JoinRule.Knock;
  });

  // What was said about inviting belongs to the meeting it was said in.
  watch(
    () => rooms.selectedRoom?.roomId,
    () => {
      invited.value = null;
      inviteFailure.value = null;
    },
  );

  /** Invites into the open meeting the person typed (a Matrix ID or name@server), of any allowed ministry. */
  async function invite(input: string): Promise<boolean> {
    const matrix = session.client;
    const roomId = rooms.selectedRoom?.roomId;
    if (matrix === null || roomId === undefined || inviting.value) return false;
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
          ? new VisioError(error.errcode ?? ERRCODE.unknown, "members.inviteFailed", { params: { user: userId }, reason: reasonOf(error), cause: error, detail: error.message })
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
    const matrix = session.client;
    if (matrix === null) return false;
    failure.value = null;
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
      rooms.select(room.roomId);
      return true;
    } catch (error) {
      failure.value = asVisioError(error);
      return false;
    }
  }

  async function declineInvitation(roomId: string): Promise<void> {
    try {
      await session.client?.leave(roomId);
    } catch (error) {
      failure.value = asVisioError(error);
    }
  }

  /** Asks to enter the meeting that refused the join: the lobby waits for a moderator's answer. */
  async function knock(): Promise<boolean> {
    const matrix = session.client;
    const roomRef = candidate.value;
    if (matrix === null || roomRef === null) return false;
    failure.value = null;
    try {
      const { room_id: roomId } = await matrix.knockRoom(roomRef);
      knockSeen = false;
      lobby.value = { roomId, roomRef, state: "waiting" };
      rooms.clearJoinFailure();
      rooms.select(null);
      return true;
    } catch (error) {
      failure.value =
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
  watch(
    () => rooms.revision,
    () => {
      const waitingFor = lobby.value;
      const matrix = session.client;
      if (waitingFor === null || waitingFor.state !== "waiting" || matrix === null) return;
      const membership = matrix.getRoom(waitingFor.roomId)?.getMyMembership();
      if (membership === KnownMembership.Knock) knockSeen = true;
      else if (membership === KnownMembership.Invite || membership === KnownMembership.Join) {
        lobby.value = null;
        void acceptInvitation(waitingFor.roomId);
      } else if (knockSeen && (membership === KnownMembership.Leave || membership === KnownMembership.Ban)) {
        lobby.value = { ...waitingFor, state: "refused" };
      }
    },
  );

  /** Runs a moderator's action on the open meeting; a refusal shows where invitations' do. */
  async function moderate(action: (roomId: string) => Promise<unknown>): Promise<void> {
    const roomId = rooms.selectedRoom?.roomId;
    if (roomId === undefined) return;
    try {
      await action(roomId);
    } catch (error) {
      inviteFailure.value = asVisioError(error);
    }
  }

  /** A moderator lets in someone who knocked (an invite, which their client accepts). */
  const admit = (userId: string): Promise<void> => moderate(async (roomId) => session.client?.invite(roomId, userId));
  /** A moderator turns a knock down: its author is told. */
  const refuse = (userId: string): Promise<void> => moderate(async (roomId) => session.client?.kick(roomId, userId));
  /** Whether joining the open meeting takes a moderator's admission (join rule knock) or not (public). */
  const setRequired = (on: boolean): Promise<void> =>
    moderate(async (roomId) => session.client?.sendStateEvent(roomId, EventType.RoomJoinRules, { join_rule: on ? JoinRule.Knock : JoinRule.Public }, ""));

  return {
    invitations,
    candidate,
    lobby: computed(() => lobby.value),
    waiting,
    isModerator,
    required,
    failure: computed(() => failure.value),
    inviting: computed(() => inviting.value),
    inviteFailure: computed(() => inviteFailure.value),
    invited: computed(() => invited.value),
    invite,
    acceptInvitation,
    declineInvitation,
    knock,
    leaveLobby,
    admit,
    refuse,
    setRequired,
  };
});
