// Node's options the appservice process runs with (the launch commands name them: the `bin` line of
// main.ts, `npm run appservice`, docker-compose.yml; a unit test checks that they agree). Without
// them an idle appservice takes about 119 MiB once settled, with them about 97 MiB
// (scripts/bench/appservice-scale.ts measures both):
//   --max-semi-space-size=1  V8's young generation stays at 1 MiB per semi-space instead of growing
//                            to 16 MiB while the modules load; a request allocates a few kB.
//   --v8-pool-size=1         one V8 worker thread (GC and compile jobs) instead of four, each of
//                            which keeps a malloc arena; the process runs on one core anyway.
//   --liftoff-only           WebAssembly is used only by Node's TypeScript type stripping while the
//                            modules load: its baseline code is enough, no optimising compile.
export const APPSERVICE_NODE_OPTIONS: readonly string[] = ["--max-semi-space-size=1", "--v8-pool-size=1", "--liftoff-only"];
