// The interface's languages through vue-i18n: two catalogues with flat dotted keys, `{name}`
// placeholders, "singular | plural" messages chosen by the `count` parameter with each language's own
// rule. French is the default; the choice is kept in localStorage and mirrored on <html lang>.
// vue-i18n 11 turns messages into an AST that it interprets (no eval, no `new Function`), so the
// client runs under a CSP without 'unsafe-eval'.
import { computed, type App, type InjectionKey, inject } from "vue";
import { createI18n as createVueI18n, type PluralizationRule } from "vue-i18n";
import { en } from "./en.ts";
import { fr, type MessageKey, type Messages } from "./fr.ts";

export type Locale = "fr" | "en";
export const LOCALES: readonly Locale[] = ["fr", "en"];
const STORAGE_KEY = "visio.locale";

export type Translate = (key: MessageKey, params?: Record<string, string | number>) => string;

export interface I18n {
  locale: { value: Locale };
  t: Translate;
  setLocale(locale: Locale): void;
  /** The vue-i18n instance underneath, installed on the app with the rest. */
  readonly vueI18n: { install(app: App): void };
}

/**
 * What we use of vue-i18n's composer. Its own types follow the catalogue's schema key by key, which
 * costs the type checker more than two flat catalogues are worth; keys are checked by MessageKey.
 */
interface FlatComposer {
  locale: { value: string };
  t(key: string, named: Record<string, string | number>, plural?: number): string;
}

/** `{name}` placeholders filled in, outside vue-i18n (a message shown as is, a test's expectation). */
export function format(template: string, params: Record<string, string | number> = {}): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

export function isLocale(value: unknown): value is Locale {
  return value === "fr" || value === "en";
}

/**
 * Which form of a message a count takes. "singular | plural": French treats 0 and 1 as singular ("0
 * participant", "1 participant"), English only 1 ("0 participants"). "none | one | several": the
 * count's own form, in both languages.
 */
const threeForms = (choice: number): number => Math.min(Math.abs(choice), 2);
export const PLURAL_RULES: Record<Locale, PluralizationRule> = {
  fr: (choice, choicesLength) => (choicesLength < 2 ? 0 : choicesLength === 3 ? threeForms(choice) : Math.abs(choice) < 2 ? 0 : 1),
  en: (choice, choicesLength) => (choicesLength < 2 ? 0 : choicesLength === 3 ? threeForms(choice) : Math.abs(choice) === 1 ? 0 : 1),
};

/**
 * A catalogue message in vue-i18n's syntax: "@" (a linked message there) and "$" are literals in
 * ours ("alice@ministere.gouv.fr"); "|" separates the plural forms, as there.
 */
export function toMessageSyntax(message: string): string {
  return message.replace(/[@$]/g, (char) => `{'${char}'}`);
}

const compiledCatalogue = (messages: Messages): Record<string, string> =>
  Object.fromEntries(Object.entries(messages).map(([key, text]) => [key, toMessageSyntax(text)]));

export function createI18n(storage: Pick<Storage, "getItem" | "setItem"> | null, initial?: Locale): I18n {
  const stored = storage?.getItem(STORAGE_KEY);
  const vueI18n = createVueI18n({
    legacy: false,
    locale: initial ?? (isLocale(stored) ? stored : "fr"),
    fallbackLocale: "fr",
    messages: { fr: compiledCatalogue(fr), en: compiledCatalogue(en) },
    pluralRules: PLURAL_RULES,
    // Keys are flat and dotted ("room.members"): looked up as they are, not as a path of objects.
    messageResolver: (catalogue, key) => {
      const message = (catalogue as Record<string, unknown>)[key];
      return typeof message === "string" ? message : null;
    },
    missingWarn: false,
    fallbackWarn: false,
  });
  const composer: FlatComposer = vueI18n.global as FlatComposer;
  const locale = computed<Locale>({
    get: () => (isLocale(composer.locale.value) ? composer.locale.value : "fr"),
    set: (next) => {
      composer.locale.value = next;
    },
  });
  const t: Translate = (key, params = {}) => {
    const count = params.count;
    return typeof count === "number" ? composer.t(key, params, count) : composer.t(key, params);
  };
  return {
    locale,
    t,
    setLocale(next) {
      locale.value = next;
      storage?.setItem(STORAGE_KEY, next);
      if (typeof document !== "undefined") document.documentElement.lang = next;
    },
    vueI18n,
  };
}

const I18N_KEY: InjectionKey<I18n> = Symbol("i18n");

export function installI18n(app: App, i18n: I18n): void {
  app.use(i18n.vueI18n);
  app.provide(I18N_KEY, i18n);
  if (typeof document !== "undefined") document.documentElement.lang = i18n.locale.value;
}

export function useI18n(): I18n {
  const i18n = inject(I18N_KEY);
  if (i18n === undefined) throw new Error("useI18n() outside an app with installI18n()");
  return i18n;
}

export type { MessageKey };
