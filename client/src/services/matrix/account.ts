// Signing in and out: server discovery, password login, the login token that single sign-on brings
// back (sso.ts), and the mapping of the homeserver's answers to errors a user understands. The SDK
// does the HTTP; this decides what each failure means.
import { ConnectionError, createClient, MatrixError, type LoginRequest } from "matrix-js-sdk";
import { MATRIX_USER_ID } from "../../../../config/wire-types.ts";
import { ERRCODE, VisioError, asVisioError, reasonOf } from "../errors.ts";
import { discoverHomeserver, type DiscoveredHomeserver, type FetchLike } from "./homeserver-discovery.ts";
import type { StoredSession } from "./session-storage.ts";

export interface SignInRequest {
  server: string;
  username: string;
  password: string;
}

const DEVICE_NAME = "Visio (web)";

/**
 * Who signs in where, from the account as a person types it: "alice@ministry-a.test" (as an e-mail
 * address), "@alice:ministry-a.test" (a Matrix ID) or "alice" with the server in its own field. A server
 * named in the account wins over an empty server field; when both name one, the server field is used
 * and the homeserver decides whether the account is its own.
 */
export function parseAccountInput(usernameInput: string, serverInput: string): { user: string; server: string } {
  const username = usernameInput.trim();
  const typedServer = serverInput.trim();
  const matrixId = MATRIX_USER_ID.exec(username);
  if (matrixId !== null) return { user: username, server: typedServer === "" ? (matrixId[2] ?? "") : typedServer };
  const email = /^([^@\s]+)@(\S+)$/.exec(username);
  if (email !== null) return { user: (email[1] ?? "").toLowerCase(), server: typedServer === "" ? (email[2] ?? "") : typedServer };
  return { user: username.toLowerCase(), server: typedServer };
}

export async function signIn(request: SignInRequest, fetchFn: FetchLike): Promise<StoredSession> {
  const { user: username, server } = parseAccountInput(request.username, request.server);
  if (username === "" || request.password === "") throw new VisioError(ERRCODE.invalidParam, "error.missingField");
  if (server === "") throw new VisioError(ERRCODE.invalidParam, "error.missingServer");
  const homeserver = await discoverHomeserver(server, fetchFn);
  return logIn(homeserver, { type: "m.login.password", identifier: { type: "m.id.user", user: username }, password: request.password }, fetchFn);
}

/** Exchanges the one-time token of a single sign-on for a session on the homeserver that issued it. */
export async function signInWithLoginToken(homeserver: DiscoveredHomeserver, token: string, fetchFn: FetchLike): Promise<StoredSession> {
  try {
    return await logIn(homeserver, { type: "m.login.token", token }, fetchFn);
  } catch (error) {
    // Forged, expired (Synapse: two minutes) or already used: the same for the user, sign in again.
    if (error instanceof VisioError && error.messageKey === "error.wrongPassword") {
      throw new VisioError(ERRCODE.forbidden, "error.ssoTokenInvalid", { cause: error.cause });
    }
    throw error;
  }
}

async function logIn(homeserver: DiscoveredHomeserver, body: LoginRequest, fetchFn: FetchLike): Promise<StoredSession> {
  const client = createClient({ baseUrl: homeserver.baseUrl, fetchFn: fetchFn as typeof fetch });
  try {
    const response = await client.loginRequest({ ...body, initial_device_display_name: DEVICE_NAME });
    return {
      serverName: homeserver.serverName,
      baseUrl: homeserver.baseUrl,
      userId: response.user_id,
      deviceId: response.device_id,
      accessToken: response.access_token,
      wellKnown: homeserver.wellKnown,
    };
  } catch (error) {
    throw loginError(error, homeserver.serverName);
  } finally {
    client.stopClient();
  }
}

export function loginError(error: unknown, serverName: string): VisioError {
  if (error instanceof MatrixError) {
    if (error.errcode === "M_FORBIDDEN" || error.errcode === "M_INVALID_USERNAME" || error.errcode === "M_USER_DEACTIVATED") {
      return new VisioError(ERRCODE.forbidden, "error.wrongPassword", { cause: error });
    }
    if ((error.httpStatus ?? 0) >= 500 || error.errcode === "M_LIMIT_EXCEEDED") {
      return new VisioError(ERRCODE.serverDown, "error.serverDown", { params: { server: serverName }, retryable: true, cause: error });
    }
    return new VisioError(error.errcode ?? ERRCODE.unknown, "error.generic", { reason: reasonOf(error), cause: error, detail: error.message });
  }
  if (error instanceof ConnectionError) {
    return new VisioError(ERRCODE.serverDown, "error.serverDown", { params: { server: serverName }, retryable: true, cause: error });
  }
  return asVisioError(error);
}
