// What the call asks of a focus besides connecting: the token request body for us (who we are, our
// membership, a fresh OpenID token), and handing it our delayed leave.
import type { MatrixClient, Room } from "matrix-js-sdk";
import { ERRCODE, VisioError } from "../../services/errors.ts";
import type { Services } from "../../services/index.ts";
import { requestPublishToken, type FocusTokenRequestInput } from "../../services/livekit/focus.ts";
import { DELAYED_LEAVE_MS } from "../../services/matrix/call-membership.ts";

export function createFocusRequests(services: Pick<Services, "fetch" | "config">, client: () => MatrixClient | null) {
  async function tokenInput(serviceUrl: string, room: Room, memberId: string): Promise<FocusTokenRequestInput> {
    const matrix = client();
    if (matrix === null) throw new VisioError(ERRCODE.unknownToken, "error.sessionExpired");
    return {
      serviceUrl,
      roomId: room.roomId,
      userId: matrix.getSafeUserId(),
      deviceId: matrix.getDeviceId() ?? "",
      memberId,
      openIdToken: await matrix.getOpenIdToken(),
    };
  }

  /**
   * Hands our delayed leave to our focus with a token request (the token itself is not used), as
   * Element Call does: it leaves the call as soon as our LiveKit connection goes. A focus that does
   * not take it refuses; then the homeserver sends it when the delay runs out, as before.
   */
  async function delegateLeave(serviceUrl: string, room: Room, memberId: string, delayId: string): Promise<void> {
    try {
      const input = await tokenInput(serviceUrl, room, memberId);
      await requestPublishToken(services.fetch, input, services.config.matrixRtcMode, { delayId, timeoutMs: DELAYED_LEAVE_MS });
    } catch {
      // Not taken (or signed out meanwhile): nothing is lost, the delay still runs at the homeserver.
    }
  }

  return { tokenInput, delegateLeave };
}
