// The signed-in user: sign in (discovery + password, or the token single sign-on brings back),
// restore after a reload, sign out.
import { ClientEvent, HttpApiEvent, SyncState, type MatrixClient } from "matrix-js-sdk";
import { defineStore } from "pinia";
import { computed, markRaw, readonly, ref, shallowRef } from "vue";
import { ERRCODE, VisioError, asVisioError } from "../services/errors.ts";
import { signIn as signInRequest, signInWithLoginToken, type SignInRequest } from "../services/matrix/account.ts";
import { SYNC_OPTIONS } from "../services/matrix/client-factory.ts";
import { clearSession, loadSession, saveSession, type StoredSession } from "../services/matrix/session-storage.ts";
import { takePendingSso } from "../services/matrix/sso.ts";
import { useServices } from "../services/index.ts";

export type SessionStatus = "signed-out" | "signing-in" | "starting" | "signed-in";

export const useSessionStore = defineStore("session", () => {
  const services = useServices();
  const status = ref<SessionStatus>("signed-out");
  const error = shallowRef<VisioError | null>(null);
  const session = shallowRef<StoredSession | null>(null);
  const client = shallowRef<MatrixClient | null>(null);

  function stopClient(): void {
    client.value?.removeAllListeners();
    client.value?.stopClient();
    client.value = null;
  }

  function forget(reason: VisioError | null): void {
    stopClient();
    clearSession(services.storage);
    session.value = null;
    status.value = "signed-out";
    error.value = reason;
  }

  async function start(stored: StoredSession): Promise<void> {
    status.value = "starting";
    session.value = stored;
    // The SDK client is a large event emitter: never let Vue proxy it.
    const matrix = markRaw(services.createMatrixClient(stored));
    client.value = matrix;
    const firstSync = new Promise<void>((resolve, reject) => {
      const onSync = (state: SyncState): void => {
        if (state === SyncState.Prepared || state === SyncState.Syncing) {
          matrix.off(ClientEvent.Sync, onSync);
          resolve();
        }
      };
      matrix.on(ClientEvent.Sync, onSync);
      // The token was revoked or expired (reload after a sign-out elsewhere): sign in again.
      matrix.once(HttpApiEvent.SessionLoggedOut, () => reject(new VisioError(ERRCODE.unknownToken, "error.sessionExpired")));
    });
    // Later in the session too: the homeserver may end it at any time.
    matrix.on(HttpApiEvent.SessionLoggedOut, () => {
      if (client.value === matrix) forget(new VisioError(ERRCODE.unknownToken, "error.sessionExpired"));
    });
    await matrix.startClient(SYNC_OPTIONS);
    await firstSync;
    if (client.value === matrix) status.value = "signed-in";
  }

  async function signInWith(logIn: () => Promise<StoredSession>): Promise<void> {
    if (status.value === "signing-in") return;
    status.value = "signing-in";
    error.value = null;
    try {
      const stored = await logIn();
      saveSession(services.storage, stored);
      await start(stored);
    } catch (caught) {
      stopClient();
      status.value = "signed-out";
      error.value = asVisioError(caught);
    }
  }

  function signIn(request: SignInRequest): Promise<void> {
    return signInWith(() => signInRequest(request, services.fetch));
  }

  /** Back from single sign-on with its one-time token: signs in on the homeserver the browser went to. */
  function signInWithSso(loginToken: string): Promise<void> {
    return signInWith(async () => {
      const homeserver = takePendingSso(services.tabStorage);
      // A link with a token that this tab did not ask for: never sign anyone in with it.
      if (homeserver === null) throw new VisioError(ERRCODE.forbidden, "error.ssoNotStarted");
      return signInWithLoginToken(homeserver, loginToken, services.fetch);
    });
  }

  /** After a reload: picks up the stored session, if any. */
  async function restore(): Promise<void> {
    const stored = loadSession(services.storage);
    if (stored === null) return;
    try {
      await start(stored);
    } catch (caught) {
      forget(asVisioError(caught));
    }
  }

  async function signOut(): Promise<void> {
    const matrix = client.value;
    try {
      // Invalidates the access token on the server; if that fails, the local copy still goes.
      await matrix?.logout(true);
    } catch {
      // Server unreachable: nothing more we can do about that token from here.
    }
    forget(null);
  }

  return {
    status: readonly(status),
    error: computed(() => error.value),
    userId: computed(() => session.value?.userId ?? null),
    serverName: computed(() => session.value?.serverName ?? null),
    wellKnown: computed(() => session.value?.wellKnown ?? {}),
    client: computed(() => client.value),
    signIn,
    signInWithSso,
    restore,
    signOut,
    clearError: () => {
      error.value = null;
    },
  };
});
