// Wires the appservice process together: config in, running HTTP server out.
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import Koa from "koa";
import type { AppserviceConfig } from "../../config/schema.ts";
import { appserviceApi } from "./appservice-api.ts";
import { errorMiddleware } from "./errors.ts";
import { createFocusRouter, type FocusFromConfigDeps } from "./focus/focus-from-config.ts";
import { createHomeserverClient, type HomeserverClient } from "./homeserver-client.ts";
import { createLogger, type Logger } from "./log.ts";
import { createMeetingRooms } from "./meeting-rooms.ts";
import { openDatabase } from "./storage/database.ts";
import { createStore, type Store } from "./storage/store.ts";
import { createTransactionHandler } from "./transactions.ts";

export interface RunningAppservice {
  url: string;
  store: Store;
  stop(): Promise<void>;
}

export interface AppserviceDeps {
  log?: Logger;
  homeserver?: HomeserverClient;
  /** Test doubles for the focus service's LiveKit room API and federation requests. */
  focus?: Pick<FocusFromConfigDeps, "rooms" | "federationGet">;
}

/** Path of the focus API (MSC4195 `/get_token`, legacy `/sfu/get`): the URL advertised to clients. */
export const FOCUS_PATH_PREFIX = "/livekit/jwt";

export async function start(config: AppserviceConfig, deps: AppserviceDeps = {}): Promise<RunningAppservice> {
  const log = deps.log ?? createLogger(config.logging.level);
  const store = createStore(await openDatabase(config.database));
  let focus;
  try {
    focus = await createFocusRouter(config, { membership: store, log, prefix: FOCUS_PATH_PREFIX, ...deps.focus });
  } catch (err) {
    await store.close();
    throw err;
  }
  const homeserver =
    deps.homeserver ?? createHomeserverClient({ baseUrl: config.homeserver.url, asToken: config.appservice.as_token });
  const botUserId = `@${config.appservice.sender_localpart}:${config.homeserver.server_name}`;

  const app = new Koa({ proxy: false });
  const api = appserviceApi({
    hsToken: config.appservice.hs_token,
    transactions: createTransactionHandler({ store, log }),
    meetingRooms: createMeetingRooms({ config, homeserver, store, log }),
    botUserId,
  });
  app.use(errorMiddleware(log));
  app.use(api.routes());
  app.use(api.allowedMethods());
  if (focus) {
    app.use(focus.routes());
    app.use(focus.allowedMethods());
  }

  const server = app.listen(config.appservice.port, config.appservice.bind_address);
  await once(server, "listening");
  const { address, port } = server.address() as AddressInfo;
  const url = `http://${address.includes(":") ? `[${address}]` : address}:${port}`;
  log.info("appservice listening", { url, serverName: config.homeserver.server_name });

  return {
    url,
    store,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
      log.info("appservice stopped");
    },
  };
}
