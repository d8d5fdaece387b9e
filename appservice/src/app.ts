// Wires the appservice process together: config in, running HTTP server out.
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import Koa from "koa";
import type { AppserviceConfig } from "../../config/schema.ts";
import { appserviceApi } from "./appservice-api.ts";
import type { LiveKitRoomService } from "./calls/call-effects.ts";
import { createCallState } from "./calls/call-state.ts";
import { createCallStore, type CallStore } from "./calls/call-store.ts";
import { liveKitWebhookRouter } from "./calls/livekit-webhook.ts";
import { errorMiddleware } from "./errors.ts";
import { createKnownRooms, type KnownRooms } from "./focus/known-rooms.ts";
import { createRoomMembership } from "./focus/room-membership.ts";
import { focusApiFromConfig, liveKitApiUrl, openIdVerifierFromConfig, type FocusFromConfigDeps } from "./focus/focus-from-config.ts";
import { createHomeserverClient, type HomeserverClient } from "./homeserver-client.ts";
import { lazyAgentDispatch, lazyRoomService, lazyWebhookReceiver } from "./livekit/lazy-sdk.ts";
import { createLogger, type Logger } from "./log.ts";
import { createMeetingRooms } from "./meeting-rooms.ts";
import { createBreakouts } from "./breakouts/breakouts.ts";
import { breakoutsApiRouter } from "./breakouts/breakouts-api.ts";
import { createCallExclusions } from "./moderation/call-exclusions.ts";
import { createModeration } from "./moderation/moderation.ts";
import { moderationApiRouter } from "./moderation/moderation-api.ts";
import { openDatabase } from "./storage/database.ts";
import { createStore, type Store } from "./storage/store.ts";
import { createTransactionHandler } from "./transactions.ts";
import { createTranscriberDispatch, type AgentDispatchApi, type TranscriberRoomApi } from "./transcription/transcriber-dispatch.ts";
import { transcriptionApiRouter } from "./transcription/transcription-api.ts";
import { meetingsApiRouter } from "./meetings-api.ts";
import { requestLimits } from "./rate-limiter.ts";
import { createTranscriptionCommands } from "./transcription/transcription-commands.ts";
import { createTranscriptionControl } from "./transcription/transcription-control.ts";
import { createTranscriptionEffects } from "./transcription/transcription-effects.ts";
import { createTranscriptionStateReader } from "./transcription/transcription-state.ts";

export interface RunningAppservice {
  url: string;
  store: Store;
  /** Calls, their participants and pending effects, as recorded (read it; the appservice writes it). */
  callStore: CallStore;
  stop(): Promise<void>;
}

export interface AppserviceDeps {
  log?: Logger;
  homeserver?: HomeserverClient;
  /** Test doubles for the focus service's LiveKit room API and federation requests. */
  focus?: Pick<FocusFromConfigDeps, "rooms" | "federationGet">;
  /** Test double for the LiveKit room API calls of the call lifecycle (removals, closing rooms). */
  livekit?: LiveKitRoomService;
  /** Test doubles for the LiveKit APIs of transcription (agent dispatch, stop message). */
  transcription?: { dispatches: AgentDispatchApi; rooms: TranscriberRoomApi };
  /** How often failed call effects are retried and expired call memberships swept (ms). */
  callTickMs?: number;
  /** How often the reconciler compares every active call's transcription with LiveKit (ms). */
  callReconcileMs?: number;
}

/** The lifecycle's LiveKit calls, with the rooms it deletes no longer trusted to exist by the focus. */
function forgettingDeletedRooms(livekit: LiveKitRoomService | null, knownRooms: KnownRooms): LiveKitRoomService | null {
  if (livekit === null) return null;
  return {
    listParticipants: (room) => livekit.listParticipants(room),
    removeParticipant: (room, identity) => livekit.removeParticipant(room, identity),
    deleteRoom: async (room) => {
      // Before and after: a token request racing the deletion must not leave the room trusted.
      knownRooms.forget(room);
      await livekit.deleteRoom(room);
      knownRooms.forget(room);
    },
  };
}

/** Path of the focus API (MSC4195 `/get_token`, legacy `/sfu/get`): the URL advertised to clients. */
export const FOCUS_PATH_PREFIX = "/livekit/jwt";

export async function start(config: AppserviceConfig, deps: AppserviceDeps = {}): Promise<RunningAppservice> {
  const log = deps.log ?? createLogger(config.logging.level);
  const db = await openDatabase(config.database);
  // This process writes every membership change: it may keep what it reads.
  const store = createStore(db, { cacheMemberships: true });
  const callStore = createCallStore(db);
  const homeserver =
    deps.homeserver ?? createHomeserverClient({ baseUrl: config.homeserver.url, asToken: config.appservice.as_token });
  const botUserId = `@${config.appservice.sender_localpart}:${config.homeserver.server_name}`;
  const knownRooms = createKnownRooms();
  // Who a moderator removed, which calls one ended: the focus refuses them tokens for a while.
  const exclusions = createCallExclusions();
  const allowedServers = [config.homeserver.server_name, ...config.federation.allowlist];
  const roomMembership = createRoomMembership({ store, homeserver, botUserId, allowlist: config.federation.allowlist, log });
  // One client of this ministry's LiveKit server API for the focus, the calls' effects and transcription.
  const focusConfig = config.focus;
  const roomService = focusConfig
    ? lazyRoomService(liveKitApiUrl(focusConfig), focusConfig.livekit.api_key, focusConfig.livekit.api_secret, { requestTimeout: 10 })
    : null;
  let focus;
  let verifier;
  try {
    // One verifier (and its cache) for every endpoint that takes OpenID tokens.
    verifier = await openIdVerifierFromConfig(config, deps.focus?.federationGet);
    focus = await focusApiFromConfig(config, {
      verifier,
      knownRooms,
      membership: roomMembership,
      identities: callStore,
      delegatedLeaves: callStore,
      exclusions,
      log,
      prefix: FOCUS_PATH_PREFIX,
      ...(roomService ? { rooms: roomService } : {}),
      ...deps.focus,
    });
  } catch (err) {
    await store.close();
    throw err;
  }
  const transcriptionLiveKit =
    deps.transcription ??
    (focusConfig && roomService
      ? {
          dispatches: lazyAgentDispatch(liveKitApiUrl(focusConfig), focusConfig.livekit.api_key, focusConfig.livekit.api_secret, {
            requestTimeout: 10,
          }),
          rooms: roomService,
        }
      : null);
  const transcriptionState = createTranscriptionStateReader(homeserver);
  const calls = createCallState({
    db,
    homeserver,
    language: config.transcription.language,
    retention: config.retention,
    livekit: forgettingDeletedRooms(deps.livekit ?? roomService, knownRooms),
    // Without a LiveKit server of its own, calls run on other ministries' SFUs: nothing to dispatch.
    ...(transcriptionLiveKit
      ? {
          transcription: createTranscriptionEffects({
            state: transcriptionState,
            calls: callStore,
            dispatch: createTranscriberDispatch({ ...transcriptionLiveKit, log }),
            homeserver,
            serverName: config.homeserver.server_name,
            log,
          }),
        }
      : {}),
    botUserId,
    log,
    ...(deps.callTickMs !== undefined ? { tickMs: deps.callTickMs } : {}),
    ...(deps.callReconcileMs !== undefined ? { reconcileMs: deps.callReconcileMs } : {}),
  });

  const bridgeUserId = `@${config.transcription.bridge_localpart}:${config.homeserver.server_name}`;
  const transcription = createTranscriptionControl({
    homeserver,
    state: transcriptionState,
    hostsRoom: (roomId) => callStore.hostsRoom(roomId),
    membership: (roomId, userId) => store.membership(roomId, userId),
    enqueue: async (effect) => {
      await callStore.enqueueEffect(effect, Date.now());
      calls.afterCommit();
    },
    botUserId,
    bridgeUserId,
    allowedServers,
    controlPowerLevel: config.transcription.control_power_level,
    defaultLanguage: config.transcription.language,
    engine: config.transcription.engine,
    log,
  });
  const commands = createTranscriptionCommands({
    control: transcription,
    homeserver,
    hostsRoom: (roomId) => callStore.hostsRoom(roomId),
    ownUsers: [botUserId, bridgeUserId],
    bridgeUserId,
    language: config.transcription.language,
    log,
  });

  const meetingRooms = createMeetingRooms({ config, homeserver, store, log });
  const app = new Koa({ proxy: false });
  const api = appserviceApi({
    hsToken: config.appservice.hs_token,
    transactions: createTransactionHandler({ store, calls, log, onHandled: (events) => void commands.handle(events) }),
    botUserId,
  });
  app.use(errorMiddleware(log));
  app.use(api.routes());
  app.use(api.allowedMethods());
  const transcriptionApi = transcriptionApiRouter({
    verifier,
    control: transcription,
    allowedServers,
    log,
    ...(config.rate_limits.enabled ? { limits: requestLimits(config.rate_limits.control, "transcription control API") } : {}),
  });
  app.use(transcriptionApi.routes());
  app.use(transcriptionApi.allowedMethods());
  const meetingsApi = meetingsApiRouter({
    verifier,
    meetings: meetingRooms,
    serverName: config.homeserver.server_name,
    log,
    ...(config.rate_limits.enabled ? { limits: requestLimits(config.rate_limits.control, "meetings API") } : {}),
  });
  app.use(meetingsApi.routes());
  app.use(meetingsApi.allowedMethods());
  const breakouts = createBreakouts({
    homeserver,
    meetings: meetingRooms,
    transcription,
    hostsRoom: (roomId) => callStore.hostsRoom(roomId),
    membership: (roomId, userId) => store.membership(roomId, userId),
    botUserId,
    allowedServers,
    serverName: config.homeserver.server_name,
    log,
  });
  const breakoutsApi = breakoutsApiRouter({
    verifier,
    breakouts,
    allowedServers,
    log,
    ...(config.rate_limits.enabled ? { limits: requestLimits(config.rate_limits.control, "breakouts API") } : {}),
  });
  app.use(breakoutsApi.routes());
  app.use(breakoutsApi.allowedMethods());
  const moderationApi = moderationApiRouter({
    verifier,
    moderation: createModeration({
      homeserver,
      // The same LiveKit client as the call lifecycle's; the rooms it deletes are forgotten by the focus.
      livekit: roomService ? { ...forgettingDeletedRooms(roomService, knownRooms)!, mutePublishedTrack: (...args) => roomService.mutePublishedTrack(...args) } : null,
      exclusions,
      membership: (roomId, userId) => store.membership(roomId, userId),
      callerMembership: (roomId, userId) => roomMembership.membership(roomId, userId),
      hostsRoom: (roomId) => callStore.hostsRoom(roomId),
      allowedServers,
      botUserId,
      language: config.transcription.language,
      log,
    }),
    allowedServers,
    log,
    ...(config.rate_limits.enabled ? { limits: requestLimits(config.rate_limits.control, "moderation API") } : {}),
  });
  app.use(moderationApi.routes());
  app.use(moderationApi.allowedMethods());
  if (focusConfig) {
    // LiveKit signs its webhooks with one of its API keys: the one this appservice uses.
    const { api_key: apiKey, api_secret: apiSecret } = focusConfig.livekit;
    const webhooks = liveKitWebhookRouter({ receiver: lazyWebhookReceiver(apiKey, apiSecret), calls, log });
    app.use(webhooks.routes());
    app.use(webhooks.allowedMethods());
  }
  try {
    // Effects left pending by a previous run (a notice, a removal) go out now.
    await calls.start();
  } catch (err) {
    await store.close();
    throw err;
  }

  const koa = app.callback();
  const server = createServer((req, res) => {
    if (focus?.owns(req)) focus.handle(req, res);
    else void koa(req, res);
  });
  server.listen(config.appservice.port, config.appservice.bind_address);
  await once(server, "listening");
  const { address, port } = server.address() as AddressInfo;
  const url = `http://${address.includes(":") ? `[${address}]` : address}:${port}`;
  log.info("appservice listening", { url, serverName: config.homeserver.server_name });

  return {
    url,
    store,
    callStore,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      breakouts.stop();
      await calls.stop();
      await store.close();
      log.info("appservice stopped");
    },
  };
}
