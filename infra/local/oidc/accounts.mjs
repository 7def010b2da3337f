// People and their tokens at the local OpenID Connect provider (server.mjs).
//
//   node infra/local/oidc/accounts.mjs add     < [{"username", "password", "role", "entityId"?, "name", "sub"?}, ...]
//     writes $OIDC_STATE_DIR/users/<username>.json for each (sub defaults to the user name; the
//     password is kept as an scrypt hash). The running provider reads them at each sign-in.
//   node infra/local/oidc/accounts.mjs tokens  < [{"username", "password"}, ...]
//     signs each in through the running provider as a browser would (client icp-cli,
//     Authorization Code + PKCE) and prints [{"username", "idToken"}, ...].
//
// OIDC_STATE_DIR defaults to <repo>/.local/oidc, OIDC_ISSUER to http://127.0.0.1:4600.
// Only Node's own modules: server.mjs imports the helpers below too.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const scrypt = promisify(crypto.scrypt);

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..', '..');

// A user name is also a file name: no slashes, no leading dot.
export const USERNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
export const ROLES = ['customer', 'reviewer', 'operator'];
// ln=15 (N = 32768), r=8, p=1: 32 MiB and some 100 ms per hash.
export const SCRYPT = { N: 2 ** 15, r: 8, p: 1, keylen: 32 };

const b64 = (buffer) => buffer.toString('base64').replace(/=+$/, '');

export async function hashPassword(password) {
  const { N, r, p, keylen } = SCRYPT;
  const salt = crypto.randomBytes(16);
  const hash = await scrypt(password, salt, keylen, { N, r, p, maxmem: 256 * N * r * p });
  return `$scrypt$ln=${Math.log2(N)},r=${r},p=${p}$${b64(salt)}$${b64(hash)}`;
}

// `$scrypt$ln=15,r=8,p=1$<b64 salt>$<b64 hash>` -> { N, r, p, salt, hash }, or undefined if it is
// not one (or asks for absurd work).
export function parsePasswordHash(stored) {
  const m = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/.exec(stored);
  if (!m) return undefined;
  const [ln, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (ln < 10 || ln > 20 || r < 1 || r > 32 || p < 1 || p > 16) return undefined;
  const salt = Buffer.from(m[4], 'base64');
  const hash = Buffer.from(m[5], 'base64');
  if (salt.length < 8 || hash.length < 16) return undefined;
  return { N: 2 ** ln, r, p, salt, hash };
}

function fail(message) {
  console.error(`accounts.mjs: ${message}`);
  process.exit(1);
}

async function readStdinJson() {
  let text = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) text += chunk;
  let value;
  try {
    value = JSON.parse(text);
  } catch (err) {
    fail(`stdin is not JSON: ${err.message}`);
  }
  if (!Array.isArray(value)) fail('stdin must hold a JSON array');
  return value;
}

function writeAtomically(file, content) {
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, content, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

async function add(stateDir) {
  const people = await readStdinJson();
  // Check them all before writing any.
  people.forEach((person, i) => {
    const where = `entry ${i}`;
    if (!person || typeof person !== 'object') fail(`${where} is not an object`);
    const { username, password, role, entityId, name, sub } = person;
    if (typeof username !== 'string' || !USERNAME_PATTERN.test(username)) {
      fail(`${where}: username must match ${USERNAME_PATTERN}`);
    }
    if (typeof password !== 'string' || password.length === 0) fail(`${where} (${username}): password must be a non-empty string`);
    if (!ROLES.includes(role)) fail(`${where} (${username}): role must be one of ${ROLES.join(', ')}`);
    if (role === 'customer' && (typeof entityId !== 'string' || !entityId)) {
      fail(`${where} (${username}): a customer needs an entityId`);
    }
    if (name !== undefined && typeof name !== 'string') fail(`${where} (${username}): name must be a string`);
    if (sub !== undefined && (typeof sub !== 'string' || !sub)) fail(`${where} (${username}): sub must be a non-empty string`);
  });
  const usersDir = path.join(stateDir, 'users');
  fs.mkdirSync(usersDir, { recursive: true, mode: 0o700 });
  for (const { username, password, role, entityId, name, sub } of people) {
    const user = {
      username,
      sub: sub ?? username,
      role,
      ...(role === 'customer' ? { entityId } : {}),
      name: name ?? username,
      passwordHash: await hashPassword(password),
    };
    writeAtomically(path.join(usersDir, `${username}.json`), `${JSON.stringify(user, null, 2)}\n`);
  }
  console.error(`accounts.mjs: ${people.length} account(s) written to ${usersDir}`);
}

// --- Signing in as a browser would -------------------------------------------------------------

const CLIENT_ID = 'icp-cli';
const REDIRECT_URI = 'http://127.0.0.1/icp-cli/callback';

// Just enough of a cookie jar for one host: name and path, expiry by Max-Age/Expires.
class CookieJar {
  #cookies = new Map();

  store(url, response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq < 1) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const requestPath = new URL(url).pathname;
      let cookiePath = requestPath.slice(0, requestPath.lastIndexOf('/')) || '/';
      let expired = value === '';
      for (const attribute of attributes) {
        const [key, ...rest] = attribute.split('=');
        const v = rest.join('=').trim();
        switch (key.trim().toLowerCase()) {
          case 'path': cookiePath = v || '/'; break;
          case 'max-age': if (Number(v) <= 0) expired = true; break;
          case 'expires': if (Date.parse(v) <= Date.now()) expired = true; break;
          default:
        }
      }
      const key = `${name}\n${cookiePath}`;
      if (expired) this.#cookies.delete(key);
      else this.#cookies.set(key, { name, value, path: cookiePath });
    }
  }

  header(url) {
    const { pathname } = new URL(url);
    const matches = (p) => pathname === p
      || (pathname.startsWith(p) && (p.endsWith('/') || pathname[p.length] === '/'));
    return [...this.#cookies.values()]
      .filter((c) => matches(c.path))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }
}

const b64url = (buffer) => buffer.toString('base64url');

function decodeHtml(text) {
  return text
    .replace(/&#(\d+);/g, (_, n) => String.fromCodePoint(Number(n)))
    .replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

async function request(jar, url, { method = 'GET', form } = {}) {
  const headers = { accept: 'text/html,application/json' };
  const cookie = jar.header(url);
  if (cookie) headers.cookie = cookie;
  if (form) headers['content-type'] = 'application/x-www-form-urlencoded';
  let response;
  try {
    response = await fetch(url, { method, headers, body: form?.toString(), redirect: 'manual' });
  } catch (err) {
    throw new Error(`cannot reach ${new URL(url).origin} (${err.cause?.code ?? err.message}); is the provider running? (infra/local/oidc.sh status)`);
  }
  jar.store(url, response);
  return response;
}

async function discover(issuer) {
  const url = `${issuer}/.well-known/openid-configuration`;
  const response = await request(new CookieJar(), url);
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
  return response.json();
}

async function idTokenFor(config, { username, password }) {
  const jar = new CookieJar();
  const verifier = b64url(crypto.randomBytes(32));
  const state = b64url(crypto.randomBytes(16));
  const nonce = b64url(crypto.randomBytes(16));
  const authorize = new URL(config.authorization_endpoint);
  authorize.search = new URLSearchParams({
    client_id: CLIENT_ID,
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    scope: 'openid profile icp',
    code_challenge: crypto.hash('sha256', verifier, 'base64url'),
    code_challenge_method: 'S256',
    state,
    nonce,
    ui_locales: 'en', // so failures read in English here
  }).toString();

  let url = authorize.href;
  let method = 'GET';
  let form;
  let submitted = false;
  let code;
  for (let hop = 0; hop < 20 && !code; hop += 1) {
    const response = await request(jar, url, { method, form });
    if (response.status >= 300 && response.status < 400 && response.headers.has('location')) {
      const next = new URL(response.headers.get('location'), url);
      if (`${next.origin}${next.pathname}` === REDIRECT_URI) {
        const error = next.searchParams.get('error');
        if (error) throw new Error(`${error}: ${next.searchParams.get('error_description') ?? ''}`);
        if (next.searchParams.get('state') !== state) throw new Error('the state came back changed');
        code = next.searchParams.get('code');
        if (!code) throw new Error('no code in the redirect');
        break;
      }
      [url, method, form] = [next.href, 'GET', undefined];
      continue;
    }
    const html = await response.text();
    const action = /<form\b[^>]*\baction="([^"]+)"/.exec(html);
    if (!submitted && response.status === 200 && action && /name="password"/.test(html)) {
      // The login page: fill in its form and post it back.
      url = new URL(decodeHtml(action[1]), url).href;
      method = 'POST';
      form = new URLSearchParams({ username, password });
      submitted = true;
      continue;
    }
    const alert = /role="alert"[^>]*>([^<]*)</.exec(html);
    throw new Error(alert ? decodeHtml(alert[1]).trim()
      : `unexpected answer ${response.status} from ${method} ${new URL(url).pathname}`);
  }
  if (!code) throw new Error('too many redirects');

  const response = await request(jar, config.token_endpoint, {
    method: 'POST',
    form: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      client_id: CLIENT_ID,
      code_verifier: verifier,
    }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok || typeof body.id_token !== 'string') {
    throw new Error(`token endpoint answered ${response.status}: ${body.error ?? ''} ${body.error_description ?? ''}`.trim());
  }
  const payload = JSON.parse(Buffer.from(body.id_token.split('.')[1], 'base64url').toString('utf8'));
  if (payload.nonce !== nonce) throw new Error('the ID token carries another nonce');
  return body.id_token;
}

async function tokens(issuer) {
  const people = await readStdinJson();
  let config;
  try {
    config = await discover(issuer);
  } catch (err) {
    fail(err.message);
  }
  const out = [];
  for (const [i, person] of people.entries()) {
    const { username, password } = person ?? {};
    if (typeof username !== 'string' || typeof password !== 'string') {
      fail(`entry ${i}: needs a username and a password (strings)`);
    }
    try {
      out.push({ username, idToken: await idTokenFor(config, { username, password }) });
    } catch (err) {
      fail(`sign-in of ${JSON.stringify(username)} at ${issuer} failed: ${err.message}`);
    }
  }
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

async function main() {
  const stateDir = process.env.OIDC_STATE_DIR || path.join(REPO, '.local', 'oidc');
  const issuer = (process.env.OIDC_ISSUER || 'http://127.0.0.1:4600').replace(/\/+$/, '');
  switch (process.argv[2]) {
    case 'add': return add(stateDir);
    case 'tokens': return tokens(issuer);
    default:
      console.error('usage: accounts.mjs add|tokens  (a JSON array on stdin; see the top of the file)');
      process.exit(2);
  }
  return undefined;
}

// Run as a command, not when server.mjs imports the helpers.
if (process.argv[1] && fs.realpathSync(process.argv[1]) === fs.realpathSync(fileURLToPath(import.meta.url))) {
  await main();
}
