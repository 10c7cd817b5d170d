/** The stats page's sign-in form: no JavaScript, posts the admin token once to get a session. */
export function signInPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Experiment stats: sign in</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:40rem}textarea{width:100%;height:8rem}</style>
</head>
<body>
<h1>Experiment stats</h1>
<form method="post" action="/pages/experiment-stats/session">
<p><label for="token">Admin token (a JWT with the admin role; it is sent once and not kept in the browser)</label></p>
<p><textarea id="token" name="token" required autocomplete="off"></textarea></p>
<p><button type="submit">Sign in</button></p>
</form>
</body>
</html>
`;
}
