// Entry of the web client: reads the browser's globals once and hands them to the app as services.
import { createPinia } from "pinia";
import { createApp } from "vue";
import App from "./App.vue";
import { createI18n, installI18n } from "./i18n/index.ts";
import { loadClientConfig } from "./services/client-config.ts";
import { provideServices } from "./services/index.ts";
import { createMatrixClientFactory } from "./services/matrix/client-factory.ts";
import { createCallMedia } from "./services/livekit/call-media.ts";
import "./styles/main.css";

const fetchFn = window.fetch.bind(window);

async function main(): Promise<void> {
  const { config, problems } = await loadClientConfig(fetchFn, window.location.href);
  // For the operator: a wrong setting keeps its default, and says so in the browser's console.
  for (const problem of problems) console.warn(`Visio: ${problem}`);
  const app = createApp(App);
  provideServices(app, {
    fetch: fetchFn,
    storage: window.localStorage,
    tabStorage: window.sessionStorage,
    createMatrixClient: createMatrixClientFactory(fetchFn),
    callMedia: createCallMedia(),
    config,
  });
  installI18n(app, createI18n(window.localStorage));
  app.use(createPinia());
  app.mount("#app");
}

void main();
