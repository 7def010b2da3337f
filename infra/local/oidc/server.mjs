// The local OpenID Connect provider (oidc-provider 9): people sign in to the web console with a
// user name and password (Authorization Code + PKCE), and scripts get ID tokens the same way
// (accounts.mjs tokens). Started and stopped by infra/local/oidc.sh, which sets the environment:
//   OIDC_ISSUER       the issuer, exactly http://127.0.0.1:4600 (plain HTTP: loopback only)
//   OIDC_PORT         the port it listens on, on 127.0.0.1
//   OIDC_STATE_DIR    signing key and users/<username>.json (deleted by stop.sh)
//   OIDC_CONSOLE_URL  the console's page: icp-console's redirect and post-logout URI
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

import Provider from 'oidc-provider';

import { USERNAME_PATTERN, ROLES, SCRYPT, parsePasswordHash } from './accounts.mjs';

const scrypt = promisify(crypto.scrypt);

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`server.mjs: ${name} is not set (start the provider with infra/local/oidc.sh)`);
    process.exit(2);
  }
  return value;
}

const ISSUER = required('OIDC_ISSUER');
const PORT = Number(required('OIDC_PORT'));
const STATE_DIR = required('OIDC_STATE_DIR');
const CONSOLE_URL = required('OIDC_CONSOLE_URL');
const CONSOLE_ORIGIN = new URL(CONSOLE_URL).origin;
const USERS_DIR = path.join(STATE_DIR, 'users');
// Never loaded: accounts.mjs reads the code from the Location header of the redirect to it.
const CLI_REDIRECT_URI = 'http://127.0.0.1/icp-cli/callback';
const SCOPE = 'openid profile icp';

// --- Signing key -------------------------------------------------------------------------------
// One RS256 key, kept across restarts of the provider (so tokens it issued stay valid) and deleted
// with the rest of the state by stop.sh. The end-to-end tests sign probe tokens with the PEM and
// kid (signing-key.pem, signing-key.kid), so all three files always describe the same key.

function writePrivate(file, content) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, content, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

function loadSigningKey() {
  fs.mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 });
  const jsonFile = path.join(STATE_DIR, 'signing-key.json');
  let jwk;
  if (fs.existsSync(jsonFile)) {
    jwk = JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
  } else {
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    jwk = privateKey.export({ format: 'jwk' });
    // RFC 7638 thumbprint: stable, and derived from the key itself.
    const thumbprint = JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n });
    jwk = { ...jwk, kid: crypto.hash('sha256', thumbprint, 'base64url'), alg: 'RS256', use: 'sig' };
    writePrivate(jsonFile, `${JSON.stringify(jwk, null, 2)}\n`);
  }
  const pem = crypto.createPrivateKey({ key: jwk, format: 'jwk' }).export({ type: 'pkcs8', format: 'pem' });
  const pemFile = path.join(STATE_DIR, 'signing-key.pem');
  const kidFile = path.join(STATE_DIR, 'signing-key.kid');
  if (!fs.existsSync(pemFile) || fs.readFileSync(pemFile, 'utf8') !== pem) writePrivate(pemFile, pem);
  if (!fs.existsSync(kidFile) || fs.readFileSync(kidFile, 'utf8') !== jwk.kid) writePrivate(kidFile, jwk.kid);
  return jwk;
}

const signingKey = loadSigningKey();

// --- Accounts ----------------------------------------------------------------------------------
// One file per person, read at each use: accounts.mjs adds people while the provider runs.

async function readUser(username) {
  if (!USERNAME_PATTERN.test(username)) return undefined;
  try {
    const user = JSON.parse(await fs.promises.readFile(path.join(USERS_DIR, `${username}.json`), 'utf8'));
    if (user.username !== username || typeof user.sub !== 'string' || !user.sub || !ROLES.includes(user.role)) {
      console.error(`server.mjs: ignoring malformed account file for ${JSON.stringify(username)}`);
      return undefined;
    }
    return user;
  } catch (err) {
    if (err.code !== 'ENOENT') console.error(`server.mjs: cannot read account ${JSON.stringify(username)}: ${err.message}`);
    return undefined;
  }
}

// The token endpoint looks people up by sub (the accountId); remember whose file holds it.
const usernameBySub = new Map();

async function userBySub(sub) {
  const known = usernameBySub.get(sub);
  if (known) {
    const user = await readUser(known);
    if (user?.sub === sub) return user;
  }
  let names;
  try {
    names = await fs.promises.readdir(USERS_DIR);
  } catch {
    return undefined;
  }
  for (const name of names) {
    if (!name.endsWith('.json')) continue;
    const user = await readUser(name.slice(0, -'.json'.length));
    if (user?.sub === sub) {
      usernameBySub.set(sub, user.username);
      return user;
    }
  }
  return undefined;
}

function accountFor(user) {
  return {
    accountId: user.sub,
    async claims() {
      return {
        sub: user.sub,
        name: user.name ?? user.username,
        preferred_username: user.username,
        role: user.role,
        ...(user.role === 'customer' && user.entityId ? { entity_id: user.entityId } : {}),
      };
    },
  };
}

// An unknown user name (or a damaged hash) costs the same scrypt work as a known one.
const DUMMY_HASH = {
  ...SCRYPT,
  salt: crypto.randomBytes(16),
  hash: crypto.randomBytes(SCRYPT.keylen),
};

async function passwordMatches(password, storedHash) {
  const parsed = (storedHash && parsePasswordHash(storedHash)) || undefined;
  const { N, r, p, salt, hash } = parsed ?? DUMMY_HASH;
  const derived = await scrypt(password, salt, hash.length, { N, r, p, maxmem: 256 * N * r * p });
  return crypto.timingSafeEqual(derived, hash) && parsed !== undefined;
}

// Consecutive failures per user name (known or not, so the answer tells nothing): from the 3rd
// on, tries are refused unchecked for 5 s, doubling with each further failure, at most 5 min.
const LOCK_AFTER = 3;
const FIRST_WAIT_MS = 5_000;
const MAX_WAIT_MS = 300_000;
const failures = new Map(); // username -> { count, until }
const queues = new Map(); // username -> the tail of its checks: one check at a time per name

function waitSeconds(username) {
  const entry = failures.get(username);
  const ms = entry ? entry.until - Date.now() : 0;
  return ms > 0 ? Math.ceil(ms / 1000) : 0;
}

function recordFailure(username) {
  const entry = failures.get(username) ?? { count: 0, until: 0 };
  entry.count += 1;
  if (entry.count >= LOCK_AFTER) {
    entry.until = Date.now() + Math.min(FIRST_WAIT_MS * 2 ** (entry.count - LOCK_AFTER), MAX_WAIT_MS);
  }
  failures.set(username, entry);
  if (failures.size > 10_000) {
    // Bound the memory a stream of invented names can take: forget the oldest, unlocked first.
    for (const [name, e] of failures) {
      if (e.until < Date.now() - MAX_WAIT_MS) failures.delete(name);
    }
  }
}

// Serialized per user name: parallel tries cannot slip past the count while one is hashing.
function checkLogin(username, password) {
  const run = async () => {
    const wait = waitSeconds(username);
    if (wait > 0) return { locked: wait };
    const user = await readUser(username);
    if (await passwordMatches(password, user?.passwordHash)) {
      failures.delete(username);
      return { user };
    }
    recordFailure(username);
    return { wrong: true };
  };
  const previous = queues.get(username) ?? Promise.resolve();
  const result = previous.then(run, run);
  const tail = result.catch(() => {});
  queues.set(username, tail);
  tail.then(() => { if (queues.get(username) === tail) queues.delete(username); });
  return result;
}

// --- Pages -------------------------------------------------------------------------------------

const TEXT = {
  'zh-CN': {
    title: '登录备案系统',
    username: '用户名',
    password: '密码',
    submit: '登录',
    wrong: '用户名或密码错误。',
    locked: (n) => `尝试次数过多，请 ${n} 秒后再试。`,
    expired: '登录会话已失效，请回到控制台重新登录。',
    signingOut: '正在退出登录…',
    signOut: '退出登录',
    signedOutTitle: '已退出登录',
    signedOut: '您已退出备案系统。',
    backToConsole: '返回控制台',
    error: '出错了',
  },
  en: {
    title: 'Sign in to the License System',
    username: 'User name',
    password: 'Password',
    submit: 'Sign in',
    wrong: 'Wrong user name or password.',
    locked: (n) => `Too many tries: try again in ${n} seconds.`,
    expired: 'This sign-in has expired: go back to the console and sign in again.',
    signingOut: 'Signing out…',
    signOut: 'Sign out',
    signedOutTitle: 'Signed out',
    signedOut: 'You have signed out of the License System.',
    backToConsole: 'Back to the console',
    error: 'Something went wrong',
  },
};

// ui_locales is a space-separated list by preference; zh-CN unless English comes first.
function pickLocale(uiLocales) {
  for (const tag of String(uiLocales ?? '').toLowerCase().split(/\s+/)) {
    if (tag === 'en' || tag.startsWith('en-')) return 'en';
    if (tag === 'zh' || tag.startsWith('zh-')) return 'zh-CN';
  }
  return 'zh-CN';
}

function esc(value) {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const CSS = `
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;
  font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;
  background:#f3f5f8;color:#1f2933}
main{width:100%;max-width:22rem;margin:1rem;padding:2rem;background:#fff;border-radius:8px;
  box-shadow:0 1px 3px rgba(0,0,0,.12),0 4px 16px rgba(0,0,0,.06)}
h1{margin:0 0 1.5rem;font-size:1.35rem;font-weight:600;text-align:center}
label{display:block;margin:0 0 .35rem;font-size:.9rem;font-weight:500}
input{display:block;width:100%;margin:0 0 1rem;padding:.6rem .7rem;font:inherit;
  border:1px solid #c5ccd6;border-radius:6px}
input:focus{outline:2px solid #2563eb;outline-offset:1px;border-color:#2563eb}
button{width:100%;margin-top:.5rem;padding:.65rem;font:inherit;font-weight:600;color:#fff;
  background:#2563eb;border:0;border-radius:6px;cursor:pointer}
button:hover{background:#1d4ed8}
button:focus-visible{outline:2px solid #1d4ed8;outline-offset:2px}
.alert{margin:0 0 1rem;padding:.6rem .75rem;color:#8a1c1c;background:#fdecec;
  border:1px solid #f5c2c2;border-radius:6px;font-size:.92rem}
p{line-height:1.5}
a{color:#1d4ed8}
`;

function page(ctx, { lang, title, body, script }) {
  // No external resources; inline CSS, and the one inline script (if any) by its hash.
  const scriptSrc = script ? `'sha256-${crypto.hash('sha256', script, 'base64')}'` : "'none'";
  ctx.set('Content-Security-Policy',
    `default-src 'none'; style-src 'unsafe-inline'; script-src ${scriptSrc}; img-src data:; base-uri 'none'; frame-ancestors 'none'`);
  ctx.set('X-Frame-Options', 'DENY');
  ctx.set('Referrer-Policy', 'no-referrer');
  ctx.set('Cache-Control', 'no-store');
  ctx.type = 'html';
  ctx.body = `<!DOCTYPE html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
${body}
</main>${script ? `\n<script>${script}</script>` : ''}
</body>
</html>
`;
}

function loginPage(ctx, { uid, lang, username = '', alert }) {
  const t = TEXT[lang];
  page(ctx, {
    lang,
    title: t.title,
    body: `<h1>${esc(t.title)}</h1>
${alert ? `<p class="alert" role="alert">${esc(alert)}</p>\n` : ''}<form method="post" action="/interaction/${esc(uid)}/login">
<label for="username">${esc(t.username)}</label>
<input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required${username ? '' : ' autofocus'} value="${esc(username)}">
<label for="password">${esc(t.password)}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${username ? ' autofocus' : ''}>
<button type="submit">${esc(t.submit)}</button>
</form>`,
  });
}

function messagePage(ctx, { lang, title, message, link, alert = false }) {
  page(ctx, {
    lang,
    title,
    body: `<h1>${esc(title)}</h1>
<p${alert ? ' role="alert"' : ''}>${esc(message)}</p>${link ? `\n<p><a href="${esc(link.href)}">${esc(link.text)}</a></p>` : ''}`,
  });
}

async function logoutSource(ctx, form) {
  // The person already chose to sign out in the console: no question, the form submits itself
  // (logout=yes: end the whole session here, not only the console's part of it).
  const lang = pickLocale(ctx.oidc.params.ui_locales);
  const t = TEXT[lang];
  const autoForm = form.replace('</form>', '<input type="hidden" name="logout" value="yes"/></form>');
  page(ctx, {
    lang,
    title: t.signingOut,
    body: `<h1>${esc(t.signingOut)}</h1>
${autoForm}
<noscript><button type="submit" form="op.logoutForm">${esc(t.signOut)}</button></noscript>`,
    script: "document.getElementById('op.logoutForm').submit();",
  });
}

async function postLogoutSuccessSource(ctx) {
  // Its language comes from ?ui_locales=, which the middleware below carries through the form.
  const lang = pickLocale(ctx.query.ui_locales);
  const t = TEXT[lang];
  messagePage(ctx, {
    lang, title: t.signedOutTitle, message: t.signedOut, link: { href: CONSOLE_URL, text: t.backToConsole },
  });
}

async function renderError(ctx, out) {
  const lang = pickLocale(ctx.oidc?.params?.ui_locales ?? ctx.query.ui_locales);
  const t = TEXT[lang];
  messagePage(ctx, {
    lang,
    title: t.error,
    message: out.error_description ? `${out.error}: ${out.error_description}` : out.error,
    alert: true,
  });
}

// --- The provider ------------------------------------------------------------------------------

const provider = new Provider(ISSUER, {
  clients: [
    {
      client_id: 'icp-console',
      client_name: 'ICP filing console',
      application_type: 'web',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: [CONSOLE_URL],
      post_logout_redirect_uris: [CONSOLE_URL],
    },
    {
      client_id: 'icp-cli',
      client_name: 'ICP filing scripts',
      application_type: 'web',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: [CLI_REDIRECT_URI],
    },
  ],
  // The console's browser calls the token endpoint cross-origin; nobody else does.
  clientBasedCORS(ctx, origin, client) {
    return client.clientId === 'icp-console' && origin === CONSOLE_ORIGIN;
  },
  scopes: ['openid', 'profile', 'icp'],
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    icp: ['role', 'entity_id'],
    sid: null,
    auth_time: null,
  },
  // The API reads role and entity_id from the ID token itself, not from userinfo.
  conformIdTokenClaims: false,
  responseTypes: ['code'],
  clientAuthMethods: ['none'],
  pkce: { required: () => true },
  enabledJWA: { idTokenSigningAlgValues: ['RS256'] },
  jwks: { keys: [signingKey] },
  // Cookies are signed with a key of this run (sessions live in memory and die with it anyway).
  // They are not `secure`: oidc-provider only marks them so when the request is HTTPS.
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  discovery: { ui_locales_supported: ['zh-CN', 'en'] },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
    pushedAuthorizationRequests: { enabled: false },
    dPoP: { enabled: false },
    resourceIndicators: { enabled: false },
  },
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 60,
    // The API refuses a token whose exp - iat exceeds a day: the scripts' tokens get exactly that.
    IdToken: (ctx, token, client) => (client.clientId === 'icp-cli' ? 86_400 : 3_600),
    Interaction: 3_600,
    Session: 8 * 3_600,
    Grant: 8 * 3_600,
  },
  interactions: {
    url: (ctx, interaction) => `/interaction/${interaction.uid}`,
  },
  async findAccount(ctx, sub) {
    const user = await userBySub(sub);
    return user ? accountFor(user) : undefined;
  },
  // First-party clients: no consent screen; they get `openid profile icp` once signed in.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      const grant = await ctx.oidc.provider.Grant.find(grantId);
      if (grant?.accountId === ctx.oidc.session.accountId) return grant;
    }
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(SCOPE);
    await grant.save();
    return grant;
  },
  renderError,
});
provider.proxy = false;

for (const event of ['authorization.error', 'grant.error', 'end_session.error', 'server_error', 'jwks.error', 'discovery.error']) {
  provider.on(event, (ctx, err) => {
    const detail = err.error_detail && err.error_detail !== err.error_description ? `; ${err.error_detail}` : '';
    const description = err.error_description ? ` (${err.error_description}${detail})` : '';
    console.error(`${event}: ${err.error ?? err.name}${description}${event === 'server_error' ? `\n${err.stack}` : ''}`);
  });
}

// --- Our routes, before the provider's (provider.use puts them first) --------------------------

// One line per request: method, path (never the query: codes and states travel there), status.
provider.use(async (ctx, next) => {
  let status;
  try {
    await next();
    status = ctx.status;
  } catch (err) {
    status = err.status ?? err.statusCode ?? 500; // Koa answers with this once we rethrow
    throw err;
  } finally {
    console.log(`${new Date().toISOString()} ${ctx.method} ${ctx.path} ${status}`);
  }
});

async function readForm(ctx) {
  const type = ctx.get('content-type').split(';')[0].trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') ctx.throw(415);
  const chunks = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += chunk.length;
    if (size > 16_384) ctx.throw(413);
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const INTERACTION = /^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/;

provider.use(async (ctx, next) => {
  const match = INTERACTION.exec(ctx.path);
  if (!match || !(ctx.method === 'GET' || (ctx.method === 'POST' && match[2]))) return next();
  const uid = match[1];

  let details;
  try {
    details = await provider.interactionDetails(ctx.req, ctx.res);
  } catch {
    // No interaction behind this page any more (expired, finished, cookie gone).
    const lang = pickLocale(ctx.query.ui_locales);
    ctx.status = 400;
    messagePage(ctx, {
      lang, title: TEXT[lang].title, message: TEXT[lang].expired, link: { href: CONSOLE_URL, text: TEXT[lang].backToConsole }, alert: true,
    });
    return undefined;
  }
  if (details.uid !== uid) ctx.throw(400);
  const lang = pickLocale(details.params.ui_locales);

  if (details.prompt.name === 'consent') {
    // Not reached with loadExistingGrant above; should it be, grant what the clients may have.
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
    grant.addOIDCScope(SCOPE);
    const grantId = await grant.save();
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, { consent: { grantId } });
    ctx.redirect(returnTo);
    ctx.status = 303;
    return undefined;
  }

  if (ctx.method === 'GET') {
    loginPage(ctx, { uid, lang });
    return undefined;
  }

  const form = await readForm(ctx);
  const username = (form.get('username') ?? '').trim();
  const password = form.get('password') ?? '';
  const outcome = await checkLogin(username, password);
  if (outcome.user) {
    usernameBySub.set(outcome.user.sub, outcome.user.username);
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, {
      login: { accountId: outcome.user.sub },
    }, { mergeWithLastSubmission: false });
    ctx.redirect(returnTo);
    ctx.status = 303;
    return undefined;
  }
  if (outcome.locked) {
    ctx.status = 429;
    ctx.set('Retry-After', String(outcome.locked));
    loginPage(ctx, { uid, lang, username, alert: TEXT[lang].locked(outcome.locked) });
    return undefined;
  }
  // The page again, with its error: an answer for a person, not a failed resource.
  ctx.status = 200;
  loginPage(ctx, { uid, lang, username, alert: TEXT[lang].wrong });
  return undefined;
});

// Sign-out. oidc-provider keeps only the logout parameters it knows; we add two things:
// - Cognito-style `logout_uri` (what the console sends on AWS) counts as post_logout_redirect_uri
//   when that is absent; it is still checked against the client's registered URIs.
// - the page's language (ui_locales) rides on the confirm form's action and on to the success
//   page, which would otherwise not know it.
const END_SESSION = '/session/end';
const END_SESSION_CONFIRM = '/session/end/confirm';
const END_SESSION_SUCCESS = '/session/end/success';

provider.use(async (ctx, next) => {
  if (ctx.path === END_SESSION && ctx.method === 'GET') {
    const { logout_uri: logoutUri, post_logout_redirect_uri: postLogout } = ctx.query;
    if (typeof logoutUri === 'string' && postLogout === undefined) {
      const query = { ...ctx.query, post_logout_redirect_uri: logoutUri };
      delete query.logout_uri;
      ctx.query = query;
    }
  }
  await next();
  if (ctx.path === END_SESSION && typeof ctx.body === 'string') {
    const lang = pickLocale(ctx.oidc?.params?.ui_locales);
    const confirm = new URL(END_SESSION_CONFIRM, ISSUER).href;
    ctx.body = ctx.body.replace(`action="${confirm}"`, `action="${confirm}?ui_locales=${lang}"`);
  } else if (ctx.path === END_SESSION_CONFIRM && ctx.status === 303 && ctx.query.ui_locales) {
    const location = new URL(ctx.response.get('Location'), ISSUER);
    if (location.origin === new URL(ISSUER).origin && location.pathname === END_SESSION_SUCCESS) {
      location.searchParams.set('ui_locales', pickLocale(ctx.query.ui_locales));
      ctx.set('Location', location.href);
    }
  }
});

const server = provider.listen(PORT, '127.0.0.1', () => {
  console.log(`server.mjs: OpenID Connect provider ${ISSUER} (kid ${signingKey.kid}), console ${CONSOLE_URL}`);
});
server.on('error', (err) => {
  console.error(`server.mjs: cannot listen on 127.0.0.1:${PORT}: ${err.message}`);
  process.exit(1);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
