// `POST /_visio/v1/transcription`: the web client starts and stops a meeting's transcription here,
// on the appservice of the ministry hosting the room (advertised in its homeserver's
// `.well-known/matrix/client` under `org.visio.appservice`). The credential is an OpenID token from
// the user's own homeserver, checked as the focus service checks it; CORS is open for the same reason.
import Router from "@koa/router";
import type { Middleware, ParameterizedContext } from "koa";
import type { OpenIdToken, RecordingTranscriptionResponse, TranscriptionControlResponse } from "../../../wire-types.ts";
import { MatrixError } from "../errors.ts";
import { CORS_HEADERS } from "../focus/focus-api.ts";
import { authenticateOpenIdToken, type OpenIdVerifier } from "../focus/openid-verifier.ts";
import { readJsonBody } from "../http-body.ts";
import type { Logger } from "../log.ts";
import type { RequestLimits } from "../rate-limiter.ts";
import type { TranscriptionControl } from "./transcription-control.ts";
import { parseRecordingRequest, parseTranscriptionRequest } from "./transcription-requests.ts";

export const TRANSCRIPTION_API_PATH = "/_visio/v1/transcription";
export const RECORDING_API_PATH = "/_visio/v1/transcription/recording";

const BODY_LIMIT_BYTES = 16 * 1024;

export interface TranscriptionApiDeps {
  verifier: OpenIdVerifier;
  control: TranscriptionControl;
  /** This homeserver and the federation allowlist: tokens of other servers are not even checked. */
  allowedServers: readonly string[];
  log: Logger;
  /** Rate limits per homeserver and per user (config rate_limits.control); none when absent. */
  limits?: RequestLimits;
}

const cors: Middleware = async (ctx, next) => {
  ctx.set(CORS_HEADERS);
  await next();
};

export function transcriptionApiRouter(deps: TranscriptionApiDeps): Router {
  const router = new Router();
  const allowed = new Set(deps.allowedServers);
  const log = deps.log.child({ component: "transcription" });

  for (const path of [TRANSCRIPTION_API_PATH, RECORDING_API_PATH]) {
    router.use(path, cors);
    router.options(path, (ctx) => {
      ctx.status = 204;
    });
  }
  /**
   * A POST whose body names a room and carries an OpenID token: parsed, the token's owner
   * authenticated, then answered; refusals are logged with identifiers only, never the token.
   */
  const authenticatedPost = <R extends { room_id: string; openid_token: OpenIdToken }>(
    path: string,
    parse: (body: unknown) => R,
    refused: string,
    answer: (ctx: ParameterizedContext, request: R, userId: string) => Promise<void>,
  ): void => {
    router.post(path, async (ctx) => {
      const facts: { roomId?: string; userId?: string; reason?: string } = {};
      try {
        const request = parse(await readJsonBody(ctx, BODY_LIMIT_BYTES));
        facts.roomId = request.room_id;
        const userId = await authenticateOpenIdToken(
          deps.verifier,
          allowed,
          request.openid_token,
          (reason) => {
            facts.reason = reason;
          },
          deps.limits,
        );
        facts.userId = userId;
        await answer(ctx, request, userId);
      } catch (err) {
        if (err instanceof MatrixError && err.status < 500) log.info(refused, { errcode: err.errcode, ...facts });
        throw err;
      }
    });
  };

  authenticatedPost(TRANSCRIPTION_API_PATH, parseTranscriptionRequest, "transcription request refused", async (ctx, request, userId) => {
    const state = await deps.control.control({
      roomId: request.room_id,
      userId,
      action: request.action,
      ...(request.language !== undefined ? { language: request.language } : {}),
    });
    ctx.body = { state } satisfies TranscriptionControlResponse;
  });
  authenticatedPost(RECORDING_API_PATH, parseRecordingRequest, "recording transcription refused", async (ctx, request, userId) => {
    const queued = await deps.control.transcribeRecording({
      roomId: request.room_id,
      userId,
      eventId: request.event_id,
      ...(request.language !== undefined ? { language: request.language } : {}),
    });
    ctx.status = 202;
    ctx.body = queued satisfies RecordingTranscriptionResponse;
  });
  return router;
}
