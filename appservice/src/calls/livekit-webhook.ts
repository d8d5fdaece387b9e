// `POST /livekit/webhook`: LiveKit's webhooks, verified against the raw body (JWT signed with the
// API secret, carrying the body's SHA-256) before anything is parsed or stored.
import Router from "@koa/router";
import type { WebhookEvent, WebhookReceiver } from "livekit-server-sdk";
import { MatrixError } from "../errors.ts";
import { readRawBody } from "../http-body.ts";
import type { Logger } from "../log.ts";
import type { CallState } from "./call-state.ts";

export const LIVEKIT_WEBHOOK_PATH = "/livekit/webhook";

const BODY_LIMIT_BYTES = 256 * 1024;

export interface LiveKitWebhookDeps {
  receiver: Pick<WebhookReceiver, "receive">;
  calls: Pick<CallState, "applyWebhook">;
  log: Logger;
}

// The receiver verifies first and parses after: errors of JSON or protobuf decoding can only come
// from a body that was authentic.
const isDecodingError = (err: unknown): boolean =>
  err instanceof SyntaxError || (err instanceof Error && /^cannot decode /.test(err.message));

export function liveKitWebhookRouter(deps: LiveKitWebhookDeps): Router {
  const router = new Router();
  router.post(LIVEKIT_WEBHOOK_PATH, async (ctx) => {
    // The exact bytes are signed: decode them as the receiver will hash them.
    const body = (await readRawBody(ctx, BODY_LIMIT_BYTES)).toString("utf8");
    // LiveKit sends the bare JWT; tolerate a "Bearer " prefix from proxies or other senders.
    const auth = ctx.get("authorization").replace(/^Bearer /, "");
    if (auth === "") throw new MatrixError("M_MISSING_TOKEN", "Missing webhook signature (Authorization header)");
    let event: WebhookEvent;
    try {
      event = await deps.receiver.receive(body, auth);
    } catch (err) {
      if (isDecodingError(err)) throw new MatrixError("M_BAD_JSON", "Webhook body is not a LiveKit webhook event");
      throw new MatrixError("M_UNAUTHORIZED", "Webhook signature or body hash does not verify");
    }
    if (event.id === "" || event.event === "") throw new MatrixError("M_BAD_JSON", "Webhook event has no id or no event name");
    const outcome = await deps.calls.applyWebhook(event);
    deps.log.debug("LiveKit webhook", { event: event.event, id: event.id, outcome });
    ctx.body = {};
  });
  return router;
}
