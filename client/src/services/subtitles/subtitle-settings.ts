// How a viewer wants the live subtitles: shown or not, their size, where they sit, and whether a
// screen reader reads them out. Each viewer's own choice, kept in the browser (localStorage); a
// damaged or older entry falls back to the defaults field by field.
import type { KeyValueStorage } from "../matrix/session-storage.ts";

export const SUBTITLE_SIZES = ["small", "medium", "large"] as const;
export type SubtitleSize = (typeof SUBTITLE_SIZES)[number];

/** Over the call at its bottom or top edge, or under the video, covering none of it. */
export const SUBTITLE_POSITIONS = ["bottom", "top", "below"] as const;
export type SubtitlePosition = (typeof SUBTITLE_POSITIONS)[number];

export interface SubtitleSettings {
  visible: boolean;
  size: SubtitleSize;
  position: SubtitlePosition;
  /**
   * Final lines read out by screen readers (a polite live region). Off by default: the call stage
   * makes its own announcements, and a reader voicing every subtitle talks over the meeting.
   */
  announce: boolean;
}

export const DEFAULT_SUBTITLE_SETTINGS: Readonly<SubtitleSettings> = { visible: true, size: "medium", position: "bottom", announce: false };

const KEY = "visio.subtitles";

const oneOf = <T extends string>(values: readonly T[], value: unknown, fallback: T): T => (values.includes(value as T) ? (value as T) : fallback);
const flag = (value: unknown, fallback: boolean): boolean => (typeof value === "boolean" ? value : fallback);

export function parseSubtitleSettings(raw: string | null): SubtitleSettings {
  const defaults = DEFAULT_SUBTITLE_SETTINGS;
  let value: unknown = null;
  try {
    value = raw === null ? null : JSON.parse(raw);
  } catch {
    value = null;
  }
  const stored = typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  return {
    visible: flag(stored.visible, defaults.visible),
    size: oneOf(SUBTITLE_SIZES, stored.size, defaults.size),
    position: oneOf(SUBTITLE_POSITIONS, stored.position, defaults.position),
    announce: flag(stored.announce, defaults.announce),
  };
}

export function loadSubtitleSettings(storage: Pick<KeyValueStorage, "getItem">): SubtitleSettings {
  return parseSubtitleSettings(storage.getItem(KEY));
}

export function saveSubtitleSettings(storage: Pick<KeyValueStorage, "setItem">, settings: SubtitleSettings): void {
  storage.setItem(KEY, JSON.stringify(settings));
}
