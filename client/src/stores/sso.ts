// Single sign-on on the sign-in form: which providers the homeserver named by what the user types
// offers (one button each), and where to send the browser for one of them. The sign-in that comes
// back is the session store's (signInWithSso).
import { defineStore } from "pinia";
import { computed, shallowRef } from "vue";
import { parseAccountInput } from "../services/matrix/account.ts";
import { discoverHomeserver, type DiscoveredHomeserver } from "../services/matrix/homeserver-discovery.ts";
import { fetchSsoProviders, savePendingSso, ssoRedirectUrl, type SsoProvider } from "../services/matrix/sso.ts";
import { useServices } from "../services/index.ts";

export const useSsoStore = defineStore("sso", () => {
  const services = useServices();
  const homeserver = shallowRef<DiscoveredHomeserver | null>(null);
  const providers = shallowRef<readonly SsoProvider[]>([]);
  // The server of the latest lookup: answers to older ones (the user typed on) are dropped.
  let current = "";

  /** Finds what the server named by the typed account (or server field) offers; nothing when it names none. */
  async function lookUp(usernameInput: string, serverInput: string): Promise<void> {
    const { server } = parseAccountInput(usernameInput, serverInput);
    if (server === current) return;
    current = server;
    homeserver.value = null;
    providers.value = [];
    if (server === "") return;
    try {
      const found = await discoverHomeserver(server, services.fetch);
      const offered = await fetchSsoProviders(found, services.fetch);
      if (server !== current) return;
      homeserver.value = found;
      providers.value = offered;
    } catch {
      // Not a server, or not yet (the user is still typing): only the password form shows, and says
      // what is wrong if it is submitted. The same name is looked up again when typed again.
      if (server === current) current = "";
    }
  }

  /** Where to send the browser for `provider`; remembers the homeserver, the only one its token may go to. */
  function redirectUrl(provider: SsoProvider, pageUrl: string): string {
    const target = homeserver.value;
    if (target === null) throw new Error("redirectUrl() before a homeserver offered single sign-on");
    savePendingSso(services.tabStorage, target);
    return ssoRedirectUrl(target, provider, pageUrl);
  }

  return {
    providers: computed(() => providers.value),
    lookUp,
    redirectUrl,
  };
});
