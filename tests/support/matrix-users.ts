// What tests do as Matrix users: join by alias, get OpenID tokens, wait for the appservice to see joins.
import type { OpenIdToken } from "../../wire-types.ts";
import { matrixRequest } from "../harness/matrix-client.ts";
import type { RegisteredUser, SynapseServer } from "../harness/testbed.ts";

export async function joinAlias(server: SynapseServer, user: RegisteredUser, alias: string): Promise<string> {
  const res = await matrixRequest<{ room_id: string }>(
    server.clientUrl,
    user.accessToken,
    "POST",
    `/_matrix/client/v3/join/${encodeURIComponent(alias)}`,
    {},
  );
  return res.room_id;
}

/** An OpenID token from the user's own homeserver, as a MatrixRTC client gets one for the focus. */
export function openIdToken(server: SynapseServer, user: RegisteredUser): Promise<OpenIdToken> {
  return matrixRequest<OpenIdToken>(
    server.clientUrl,
    user.accessToken,
    "POST",
    `/_matrix/client/v3/user/${encodeURIComponent(user.userId)}/openid/request_token`,
    {},
  );
}
