// What the stores need from the outside world, provided once by main.ts (and by tests with fakes):
// stores never construct SDK clients or touch browser globals themselves.
import { inject, type App, type InjectionKey } from "vue";
import type { MatrixClientFactory } from "./matrix/client-factory.ts";
import type { FetchLike } from "./matrix/homeserver-discovery.ts";
import type { KeyValueStorage } from "./matrix/session-storage.ts";
import type { CallMedia } from "./livekit/call-media.ts";
import type { ClientConfig } from "./client-config.ts";

export interface Services {
  fetch: FetchLike;
  /** The signed-in session's storage, shared by the browser's tabs (localStorage). */
  storage: KeyValueStorage;
  /** This tab's own storage, kept across reloads (sessionStorage): the call it is in. */
  tabStorage: KeyValueStorage;
  createMatrixClient: MatrixClientFactory;
  callMedia: CallMedia;
  /** The deployment's settings (config.json). */
  config: ClientConfig;
}

const SERVICES_KEY: InjectionKey<Services> = Symbol("services");

export function provideServices(app: App, services: Services): void {
  app.provide(SERVICES_KEY, services);
}

export function useServices(): Services {
  const services = inject(SERVICES_KEY);
  if (services === undefined) throw new Error("useServices() outside an app with provideServices()");
  return services;
}
