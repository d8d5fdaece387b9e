// The identity provider's login page (oidc-provider-server.ts): a username and password form, in
// French as a ministry's would be, with no script and no outside resource.
const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ESCAPES[character] ?? character);
}

export function loginPage(options: { title: string; formAction: string; username?: string; error?: string }): string {
  const title = escapeHtml(options.title);
  const error = options.error === undefined ? "" : `<p role="alert" id="idp-error">${escapeHtml(options.error)}</p>`;
  return `<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} — connexion</title>
<style>
  body { font-family: system-ui, sans-serif; background: #f5f5fe; margin: 0; }
  main { max-width: 24rem; margin: 3rem auto; background: #fff; padding: 2rem; border-top: 4px solid #000091; }
  h1 { font-size: 1.4rem; color: #000091; }
  label { display: block; margin-top: 1rem; font-weight: 600; }
  input { width: 100%; box-sizing: border-box; padding: .5rem; font-size: 1rem; }
  button { margin-top: 1.5rem; padding: .6rem 1.2rem; font-size: 1rem; background: #000091; color: #fff; border: 0; }
  #idp-error { color: #ce0500; font-weight: 600; }
</style>
</head>
<body>
<main>
<h1>${title}</h1>
<p>Identifiez-vous avec votre compte de l'annuaire.</p>
${error}
<form method="post" action="${escapeHtml(options.formAction)}">
  <label for="idp-username">Identifiant</label>
  <input id="idp-username" name="username" autocomplete="username" autocapitalize="off" spellcheck="false" required value="${escapeHtml(options.username ?? "")}">
  <label for="idp-password">Mot de passe</label>
  <input id="idp-password" name="password" type="password" autocomplete="current-password" required>
  <button type="submit" id="idp-submit">Se connecter</button>
</form>
</main>
</body>
</html>
`;
}
