// Entry of the web client: reads the browser's globals once and hands them to the app as services.
import { createPinia } from "pinia";
import { createApp } from "vue";
import App from "./App.vue";
import { createI18n, installI18n } from "./i18n/index.ts";
import { provideServices } from "./services/index.ts";
import { createMatrixClientFactory } from "./services/matrix/client-factory.ts";
import { createCallMedia } from "./services/livekit/call-media.ts";
import "./styles/main.css";

const fetchFn = window.fetch.bind(window);
const app = createApp(App);
provideServices(app, {
  fetch: fetchFn,
  storage: window.localStorage,
  createMatrixClient: createMatrixClientFactory(fetchFn),
  callMedia: createCallMedia(),
});
installI18n(app, createI18n(window.localStorage));
app.use(createPinia());
app.mount("#app");
