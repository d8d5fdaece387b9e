// `POST /_visio/v1/transcription`: the web client starts and stops a meeting's transcription here,
// on the appservice of the ministry hosting the room (advertised in its homeserver's
// `.well-known/matrix/client` under `org.visio.appservice`). The credential is an OpenID token from
// the user's own homeserver, checked as the focus service checks it; CORS is open for the same reason.
import Router from "@koa/router";
import { RECORDING_API_PATH, TRANSCRIPTION_API_PATH, type RecordingTranscriptionResponse, type TranscriptionControlResponse } from "../../../config/wire-types.ts";
import { authenticatedPosts, type AuthenticatedPostDeps } from "../authenticated-post.ts";
import type { TranscriptionControl } from "./transcription-control.ts";
import { parseRecordingRequest, parseTranscriptionRequest } from "./transcription-requests.ts";

export interface TranscriptionApiDeps extends AuthenticatedPostDeps {
  control: TranscriptionControl;
}

export function transcriptionApiRouter(deps: TranscriptionApiDeps): Router {
  const router = new Router();
  const authenticatedPost = authenticatedPosts(router, { ...deps, log: deps.log.child({ component: "transcription" }) });

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
