import { fileURLToPath } from "node:url";
import vue from "@vitejs/plugin-vue";
import { defineConfig } from "vite";

// The production build lands in client/dist; the demo and the browser tests serve it as static files.
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "./",
  plugins: [vue()],
  // vue-i18n's build flags: the Composition API only (no legacy API to ship), no devtools in production.
  // Its message compiler turns messages into an AST that it interprets: nothing needs eval (CSP).
  define: {
    __VUE_I18N_FULL_INSTALL__: "false",
    __VUE_I18N_LEGACY_API__: "false",
    __INTLIFY_PROD_DEVTOOLS__: "false",
  },
  server: {
    // config/wire-types.ts lives outside the client, shared with the servers.
    fs: { allow: [fileURLToPath(new URL("..", import.meta.url))] },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    chunkSizeWarningLimit: 4000,
  },
});
