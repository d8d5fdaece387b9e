// The interface's words through vue-i18n: every message of both catalogues compiles and fills its
// placeholders, counts take each language's plural form, the choice of language is kept.
import assert from "node:assert/strict";
import { en } from "../../src/i18n/en.ts";
import { fr, type MessageKey } from "../../src/i18n/fr.ts";
import { createI18n, PLURAL_RULES, toMessageSyntax } from "../../src/i18n/index.ts";
import { memoryStorage } from "./doubles.ts";

describe("i18n", () => {
  it("shows every message of both languages as written, placeholders filled, '@' kept", () => {
    for (const locale of ["fr", "en"] as const) {
      const i18n = createI18n(null, locale);
      const catalogue = locale === "fr" ? fr : en;
      for (const key of Object.keys(catalogue) as MessageKey[]) {
        const names = [...catalogue[key].matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? "");
        const params = Object.fromEntries(names.map((name) => [name, name === "count" || name === "n" ? 2 : `<${name}>`]));
        const shown = i18n.t(key, params);
        assert.notEqual(shown, key, `${locale} ${key} is not shown`);
        assert.doesNotMatch(shown, /\{\w+\}|\{'|'\}/, `${locale} ${key}: ${shown}`);
      }
    }
    assert.equal(createI18n(null, "fr").t("members.inviteHint"), fr["members.inviteHint"]);
    assert.match(fr["members.inviteHint"], /@/);
    assert.equal(toMessageSyntax("nom@serveur"), "nom{'@'}serveur");
  });

  it("takes the plural form of each language: French 0 and 1 singular, English only 1", () => {
    const french = createI18n(null, "fr");
    const english = createI18n(null, "en");
    assert.equal(french.t("call.inCall", { count: 0 }), "0 personne dans l'appel");
    assert.equal(french.t("call.inCall", { count: 1 }), "1 personne dans l'appel");
    assert.equal(french.t("call.inCall", { count: 2 }), "2 personnes dans l'appel");
    assert.equal(english.t("call.inCall", { count: 0 }), "0 people in the call");
    assert.equal(english.t("call.inCall", { count: 1 }), "1 person in the call");
    assert.equal(english.t("call.inCall", { count: 3 }), "3 people in the call");
    assert.equal(PLURAL_RULES.fr(1, 2), 0);
    assert.equal(PLURAL_RULES.en(0, 2), 1);
  });

  it("keeps the language chosen, French by default", () => {
    const storage = memoryStorage();
    const i18n = createI18n(storage);
    assert.equal(i18n.locale.value, "fr");
    assert.equal(i18n.t("app.signOut"), "Se déconnecter");
    i18n.setLocale("en");
    assert.equal(i18n.t("app.signOut"), "Sign out");
    assert.equal(createI18n(storage).locale.value, "en");
  });
});
