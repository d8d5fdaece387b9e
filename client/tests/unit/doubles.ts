// Stand-ins the client's unit tests share: browser storage in memory, a silent SDK logger, no media,
// and the SDK's long timers kept from holding mocha's process.
import type { Logger } from "matrix-js-sdk/lib/logger.js";
import type { CallMedia } from "../../src/services/livekit/call-media.ts";

/** A Storage over `map` (pass the same map to a second app to stand for a reload of the page). */
export function memoryStorage(map = new Map<string, string>()): Storage & { map: Map<string, string> } {
  return {
    map,
    getItem: (key) => map.get(key) ?? null,
    setItem: (key, value) => void map.set(key, value),
    removeItem: (key) => void map.delete(key),
    clear: () => map.clear(),
    key: (index) => [...map.keys()][index] ?? null,
    get length() {
      return map.size;
    },
  };
}

/** The SDK logs every request at debug level; tests only care about what the stores do. */
export const silentLogger: Logger = { trace: () => {}, debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, getChild: () => silentLogger };

export const noMedia: CallMedia = {
  listDevices: () => Promise.reject(new Error("no media in unit tests")),
  createPreview: () => Promise.reject(new Error("no media in unit tests")),
  connect: () => Promise.reject(new Error("no media in unit tests")),
};

/**
 * For the enclosing describe: matrix-js-sdk leaves long timers behind after stopClient() (its 6-hour
 * capability poll, the timeouts of aborted requests), harmless in a browser tab but holding mocha's
 * process; long timers started during these tests do not keep the event loop alive.
 */
export function unrefLongTimers(): void {
  const realSetTimeout = globalThis.setTimeout;
  before(() => {
    globalThis.setTimeout = ((handler: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
      const timer = realSetTimeout(handler, ms, ...args);
      if ((ms ?? 0) >= 10_000) timer.unref();
      return timer;
    }) as typeof setTimeout;
  });
  after(() => {
    globalThis.setTimeout = realSetTimeout;
  });
}
