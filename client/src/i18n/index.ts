// A small i18n of our own: two languages, flat keys, `{name}` placeholders. French is the default;
// the choice is kept in localStorage and mirrored on <html lang>.
import { computed, ref, type App, type InjectionKey, inject } from "vue";
import { en } from "./en.ts";
import { fr, type MessageKey, type Messages } from "./fr.ts";

export type Locale = "fr" | "en";
export const LOCALES: readonly Locale[] = ["fr", "en"];
const CATALOGUES: Record<Locale, Messages> = { fr, en };
const STORAGE_KEY = "visio.locale";

export type Translate = (key: MessageKey, params?: Record<string, string | number>) => string;

export interface I18n {
  locale: { value: Locale };
  t: Translate;
  setLocale(locale: Locale): void;
}

export function format(template: string, params: Record<string, string | number> = {}): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

export function isLocale(value: unknown): value is Locale {
  return value === "fr" || value === "en";
}

export function createI18n(storage: Pick<Storage, "getItem" | "setItem"> | null, initial?: Locale): I18n {
  const stored = storage?.getItem(STORAGE_KEY);
  const locale = ref<Locale>(initial ?? (isLocale(stored) ? stored : "fr"));
  const messages = computed(() => CATALOGUES[locale.value]);
  return {
    locale,
    t: (key, params) => format(messages.value[key], params),
    setLocale(next) {
      locale.value = next;
      storage?.setItem(STORAGE_KEY, next);
      if (typeof document !== "undefined") document.documentElement.lang = next;
    },
  };
}

const I18N_KEY: InjectionKey<I18n> = Symbol("i18n");

export function installI18n(app: App, i18n: I18n): void {
  app.provide(I18N_KEY, i18n);
  if (typeof document !== "undefined") document.documentElement.lang = i18n.locale.value;
}

export function useI18n(): I18n {
  const i18n = inject(I18N_KEY);
  if (i18n === undefined) throw new Error("useI18n() outside an app with installI18n()");
  return i18n;
}

export type { MessageKey };
