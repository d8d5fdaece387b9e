// Meeting rooms, created on purpose by a user of this ministry with a title of theirs (`create`). An
// alias nobody created stays unknown: a mistyped address finds nothing instead of a new empty meeting.
import { randomBytes } from "node:crypto";
import type { AppserviceConfig } from "../../config/schema.ts";
import type { ServerAclContent } from "../../config/wire-types.ts";
import { BREAKOUTS_STATE_EVENT, CALL_MEMBER_EVENT_TYPES, TRANSCRIPTION_STATE_EVENT } from "../../config/wire-types.ts";
import { MatrixHttpError } from "../../config/matrix/matrix-http-error.ts";
import type { CreateRoomRequest, HomeserverClient } from "./homeserver-client.ts";
import type { Logger } from "./log.ts";
import { createRateLimiter } from "./rate-limiter.ts";
import type { Store } from "./storage/store.ts";

const hostOf = (name: string): string => name.replace(/:\d+$/, "");

/** The servers a meeting room is open to, by host name (ACLs ignore ports): this one and the allowlist. */
export function allowedHosts(serverName: string, allowlist: string[]): string[] {
  return [...new Set([serverName, ...allowlist].map(hostOf))];
}

/**
 * Server ACL entries match host names without port; the homeserver itself is always allowed.
 * When this server's name has a port, it is allowed with its port as well: Synapse (1.163) refuses
 * to send an ACL unless it matches its own server name as written, port included ("Can't create an
 * ACL event that denies the local server"), while federation checks strip the port.
 */
export function serverAcl(serverName: string, allowlist: string[]): ServerAclContent {
  const hosts = allowedHosts(serverName, allowlist);
  const withPort = hostOf(serverName) === serverName ? [] : [serverName];
  return { allow: [...hosts, ...withPort], deny: [], allow_ip_literals: false };
}

/** A new meeting's topic, in the server's language (`transcription.language`: French unless English). */
export function meetingTopic(language: string, hosts: readonly string[]): string {
  return language === "en" || language.startsWith("en-")
    ? `Visio meeting, open to ${hosts.join(", ")}`
    : `Réunion Visio, ouverte à ${hosts.join(", ")}`;
}

/** Longest slug taken from a title, before its random tail. */
const TITLE_SLUG_LENGTH = 40;
export const MAX_TITLE_LENGTH = 100;
/** The power level of a meeting's creator: a moderator's, as Element names 50. */
export const MODERATOR_POWER_LEVEL = 50;

/**
 * The readable part of a titled meeting's alias: the title without accents, in lowercase words joined
 * by "-" ("Comité budget 2027" → "comite-budget-2027"); "reunion" when nothing of it is left.
 */
export function slugOfTitle(title: string): string {
  const slug = title
    .normalize("NFD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .slice(0, TITLE_SLUG_LENGTH)
    .replace(/^-+|-+$/g, "");
  return slug === "" ? "reunion" : slug;
}

/** Four random letters or digits: two meetings of one title get two addresses, and none can be guessed from the title. */
function randomTail(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  return [...randomBytes(4)].map((b) => alphabet[b % alphabet.length]).join("");
}

export interface MeetingOptions {
  /** Invited besides the creator (a breakout group's members). */
  invite?: readonly string[];
  /** The meeting this one is a breakout group of: linked as its child (m.space.parent). */
  parent?: string;
}

export function meetingRoomRequest(
  slug: string,
  config: AppserviceConfig,
  meeting: { title: string; creator: string; botUserId: string } & MeetingOptions,
): CreateRoomRequest {
  const via = [config.homeserver.server_name];
  const joinRule = config.meetings.join_rule;
  const callMembership = Object.fromEntries(CALL_MEMBER_EVENT_TYPES.map((type) => [type, 0]));
  return {
    room_alias_name: `${config.meetings.alias_prefix}${slug}`,
    name: meeting.title,
    topic: meetingTopic(config.transcription.language, allowedHosts(config.homeserver.server_name, config.federation.allowlist)),
    preset: joinRule === "public" ? "public_chat" : "private_chat",
    visibility: "private",
    ...(config.meetings.room_version !== "" ? { room_version: config.meetings.room_version } : {}),
    creation_content: { "m.federate": true },
    initial_state: [
      {
        type: "m.room.server_acl",
        state_key: "",
        content: serverAcl(config.homeserver.server_name, config.federation.allowlist),
      },
      { type: "m.room.join_rules", state_key: "", content: { join_rule: joinRule } },
      { type: "m.room.history_visibility", state_key: "", content: { history_visibility: "shared" } },
      ...(meeting.parent !== undefined ? [{ type: "m.space.parent" as const, state_key: meeting.parent, content: { via, canonical: true as const } }] : []),
    ],
    // Members publish their own call membership (MatrixRTC) and chat; room settings stay with moderators.
    power_level_content_override: {
      // Whether the meeting is transcribed is written by the bot alone: nobody can forge or hide it.
      events: {
        ...callMembership,
        "m.room.server_acl": 100,
        "m.room.power_levels": 100,
        [TRANSCRIPTION_STATE_EVENT]: 100,
        [BREAKOUTS_STATE_EVENT]: 100,
        "m.space.child": 100,
        "m.space.parent": 100,
      },
      events_default: 0,
      state_default: 50,
      invite: 0,
      // The creator moderates (50: the room's name and topic, kicks), never the ACL or power levels (100).
      users: { [meeting.botUserId]: 100, [meeting.creator]: MODERATOR_POWER_LEVEL },
    },
    invite: [...new Set([meeting.creator, ...(meeting.invite ?? [])])],
  };
}

export interface MeetingRooms {
  /**
   * A new meeting named `title`, inviting `creator` as its moderator: a user of this server (the
   * meetings API checks it), or for a breakout group the meeting's moderator who starts the groups.
   */
  create(title: string, creator: string, options?: MeetingOptions): Promise<{ roomId: string; alias: string }>;
}

export function createMeetingRooms(deps: {
  config: AppserviceConfig;
  homeserver: Pick<HomeserverClient, "createRoom">;
  store: Pick<Store, "saveMeetingRoom">;
  log: Logger;
  now?: () => number;
}): MeetingRooms {
  const { config, homeserver, store, log } = deps;
  // Per user and per server limits apply before (rate_limits.control); this one bounds all creators together.
  const creations = createRateLimiter(config.meetings.creation_limit, "creating meetings", deps.now);
  const botUserId = `@${config.appservice.sender_localpart}:${config.homeserver.server_name}`;

  return {
    async create(title, creator, options = {}) {
      creations.take("");
      // The random tail makes a clash rare; one more try covers it.
      for (let attempt = 0; ; attempt++) {
        const slug = `${slugOfTitle(title)}-${randomTail()}`;
        const alias = `#${config.meetings.alias_prefix}${slug}:${config.homeserver.server_name}`;
        try {
          const { room_id: roomId } = await homeserver.createRoom(meetingRoomRequest(slug, config, { title, creator, botUserId, ...options }));
          await store.saveMeetingRoom({ roomId, alias, slug, createdAt: Date.now() });
          log.info("meeting created", { alias, roomId, creator });
          return { roomId, alias };
        } catch (err) {
          if (!(err instanceof MatrixHttpError && err.errcode === "M_ROOM_IN_USE") || attempt >= 2) throw err;
        }
      }
    },
  };
}
