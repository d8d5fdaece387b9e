// The Application Service API that the homeserver calls, every request authenticated by hs_token.
import { timingSafeEqual, createHash } from "node:crypto";
import Router from "@koa/router";
import type { Middleware } from "koa";
import { MatrixError } from "./errors.ts";
import { readJsonBody } from "./http-body.ts";
import type { TransactionHandler } from "./transactions.ts";

const TRANSACTION_LIMIT_BYTES = 32 * 1024 * 1024;

/** Compares digests so neither the token's content nor its length leaks through timing. */
function sameToken(given: string, expected: string): boolean {
  const digest = (s: string): Buffer => createHash("sha256").update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

export function requireHomeserverToken(hsToken: string): Middleware {
  return async (ctx, next) => {
    const header = ctx.get("authorization");
    const given = header.startsWith("Bearer ") ? header.slice("Bearer ".length) : ctx.query.access_token;
    if (typeof given !== "string" || given === "") {
      throw new MatrixError("M_MISSING_TOKEN", "Missing homeserver token");
    }
    if (!sameToken(given, hsToken)) throw new MatrixError("M_FORBIDDEN", "Invalid homeserver token");
    await next();
  };
}

export function appserviceApi(deps: {
  hsToken: string;
  transactions: TransactionHandler;
  botUserId: string;
}): Router {
  const router = new Router({ prefix: "/_matrix/app/v1" });
  router.use(requireHomeserverToken(deps.hsToken));

  router.put("/transactions/:txnId", async (ctx) => {
    const body = await readJsonBody(ctx, TRANSACTION_LIMIT_BYTES);
    await deps.transactions.handle(ctx.params.txnId ?? "", body);
    ctx.body = {};
  });

  router.post("/ping", async (ctx) => {
    const body = await readJsonBody(ctx, 64 * 1024);
    if (typeof body !== "object" || body === null) throw new MatrixError("M_BAD_JSON", "Ping body must be a JSON object");
    ctx.body = {};
  });

  router.get("/users/:userId", (ctx) => {
    // The bot is the only user of our namespace; Synapse knows it already, others do not exist.
    if (ctx.params.userId !== deps.botUserId) throw new MatrixError("M_NOT_FOUND", "No such user");
    ctx.body = {};
  });

  router.get("/rooms/:alias", () => {
    // Meetings are created on purpose (the meetings API), never on lookup: an alias of our namespace
    // that the homeserver does not know is a mistyped or made-up address.
    throw new MatrixError("M_NOT_FOUND", "No meeting has this address");
  });

  return router;
}
