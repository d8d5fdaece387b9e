// Issues LiveKit access tokens with MSC4195's grants, and makes sure the LiveKit room exists first:
// LiveKit runs with auto_create off, so only this service decides which calls may start.
import type { RoomServiceClient } from "livekit-server-sdk";
import { MatrixError } from "../errors.ts";
import { createKnownRooms, type KnownRooms } from "./known-rooms.ts";
import { createLiveKitTokenSigner } from "./livekit-jwt.ts";
import type { Logger } from "../log.ts";
import { MATRIX_USER_ATTRIBUTE } from "../../../config/wire-types.ts";

/** The LiveKit room API calls the issuer makes; a fake implements these two. */
export type LiveKitRooms = Pick<RoomServiceClient, "listRooms" | "createRoom">;

export type SfuSelection = "oldest_membership" | "multi_sfu";

export interface TokenGrantRequest {
  /** Verified Matrix user ID. */
  userId: string;
  /** The user's server (the part after ':'), already checked against the allowlist. */
  serverName: string;
  roomAlias: string;
  identity: string;
}

export interface IssuedToken {
  url: string;
  jwt: string;
  canPublish: boolean;
}

export interface TokenIssuer {
  issue(request: TokenGrantRequest): Promise<IssuedToken>;
}

export interface TokenIssuerOptions {
  /** URL clients connect to. */
  url: string;
  apiKey: string;
  apiSecret: string;
  ttlSeconds: number;
  sfuSelection: SfuSelection;
  /** Servers this SFU belongs to: their users start calls here, and publish here in multi_sfu. */
  fullAccessServers: readonly string[];
  rooms: LiveKitRooms;
  log: Logger;
  /** Shared with the call lifecycle, which forgets the rooms it deletes. */
  knownRooms?: KnownRooms;
}

// What lk-jwt-service uses: long enough for the first participant to connect, short after the last leaves.
const EMPTY_TIMEOUT_SECONDS = 5 * 60;
const DEPARTURE_TIMEOUT_SECONDS = 20;

export function createTokenIssuer(options: TokenIssuerOptions): TokenIssuer {
  const fullAccess = new Set(options.fullAccessServers);
  const signer = createLiveKitTokenSigner(options.apiKey, options.apiSecret);

  const knownRooms = options.knownRooms ?? createKnownRooms();

  const ensureRoom = async (request: TokenGrantRequest, mayCreate: boolean): Promise<void> => {
    if (knownRooms.has(request.roomAlias)) return;
    try {
      await askLiveKit(request, mayCreate);
      knownRooms.add(request.roomAlias);
      return;
    } catch (err) {
      if (err instanceof MatrixError) throw err;
      options.log.error("LiveKit room API failed", { roomAlias: request.roomAlias, err });
      throw new MatrixError("M_UNAVAILABLE", "Unable to reach the SFU");
    }
  };

  const askLiveKit = async (request: TokenGrantRequest, mayCreate: boolean): Promise<void> => {
    if (mayCreate) {
      // CreateRoom returns the existing room when there is one: one call either way.
      await options.rooms.createRoom({
        name: request.roomAlias,
        emptyTimeout: EMPTY_TIMEOUT_SECONDS,
        departureTimeout: DEPARTURE_TIMEOUT_SECONDS,
      });
      return;
    }
    const existing = await options.rooms.listRooms([request.roomAlias]);
    if (existing.some((room) => room.name === request.roomAlias)) return;
    throw new MatrixError("M_FORBIDDEN", "The call has not been started on this SFU by one of its own users");
  };

  return {
    async issue(request) {
      const isFullAccess = fullAccess.has(request.serverName);
      // oldest_membership: the whole call runs on one SFU, so guests must publish there too.
      // multi_sfu: everyone publishes on their own ministry's SFU; here guests only subscribe.
      const canPublish = options.sfuSelection === "oldest_membership" || isFullAccess;
      await ensureRoom(request, isFullAccess);

      const jwt = signer.sign({
        identity: request.identity,
        ttlSeconds: options.ttlSeconds,
        video: {
          room: request.roomAlias,
          roomJoin: true,
          // roomCreate would also let the holder delete any room (MSC4195): rooms are made here instead.
          roomCreate: false,
          canPublish,
          // Unset means allowed: a caller could then send `lk.transcription` text streams, subtitles
          // under anyone's name. Only the transcription agent (its own token) publishes data.
          canPublishData: false,
          canSubscribe: true,
          canUpdateOwnMetadata: false,
          hidden: false,
        },
        attributes: { [MATRIX_USER_ATTRIBUTE]: request.userId },
      });
      return { url: options.url, jwt, canPublish };
    },
  };
}
