// The ICP license change console: customers file and follow their requests, reviewers decide
// the first review. One page, routed by the URL's hash, talking to the API it is served from
// (`…/console/` → `…/`). Chinese first, English by the switch; API data is always set as text.

const API = location.href.split("/console")[0];
const TERMINAL = ["completed", "withdrawn", "expired", "failed", "authority_rejected"];
const WITHDRAWABLE = ["submitted", "password_rejected", "pending_first_review", "first_review_rejected"];
const TYPES = ["website_cancellation", "access_cancellation", "access_change"];

// ---------------------------------------------------------------- language

const TEXT = {
  brand: ["ICP 备案", "ICP License"],
  switchTo: ["English", "中文"],
  signOut: ["退出", "Sign out"],
  signIn: ["登录", "Sign in"],
  signInIntro: ["请登录备案系统：您将在服务商的登录页上输入用户名和密码。",
    "Log in to the License System: you enter your user name and password on the provider's login page."],
  signInFailed: ["登录未完成，请重新登录。", "Sign-in did not complete: please sign in again."],
  myWebsites: ["我的网站", "My websites"],
  myRequests: ["我的申请", "My requests"],
  retrieve: ["找回备案密码", "Retrieve license password"],
  queue: ["待初审", "Review queue"],
  domain: ["域名", "Domain"],
  websiteLicense: ["网站备案号", "Website license number"],
  serviceIps: ["服务IP", "Service IPs"],
  openRequest: ["进行中的申请", "Open request"],
  none: ["无", "None"],
  more: ["更多", "More"],
  noWebsites: ["没有已备案的网站。", "No filed websites."],
  noRequests: ["还没有申请。", "No requests yet."],
  website_cancellation: ["注销网站", "Website cancellation"],
  access_cancellation: ["取消接入", "Cancel access"],
  access_change: ["变更接入", "Change access"],
  confirmTitle: ["请阅读以下内容", "Please read the following"],
  confirmIntro: ["确认后将进入下一步；如不再办理，请点击“放弃”。", "OK goes on to the next step; Give Up if you no longer want this."],
  ok: ["确定", "OK"],
  giveUp: ["放弃", "Give Up"],
  gaveUp: ["已放弃，未提交任何申请。", "You gave up: nothing was submitted."],
  stops: ["将停止或清除", "What stops"],
  stays: ["将保留", "What stays"],
  you_must: ["您需要做的", "What you must do"],
  process: ["办理流程", "How it goes on"],
  lastWebsite: ["这是该主体在本服务商的最后一个网站。", "This is the entity's last website with this provider."],
  notice: ["请再次阅读通知内容，并在下方填写备案密码确认。备案密码非常重要，将直接影响您的申请。",
    "Read the notice again and confirm with the license password below. The license password is very important: it decides your request."],
  password: ["备案密码", "License password"],
  forgot: ["忘记备案密码？", "Forgot the license password?"],
  ipsLabel: ["新的服务IP（每行一个）", "New service IPs (one per line)"],
  next: ["下一步", "Next"],
  back: ["返回", "Back"],
  submitted: ["申请已提交。", "The request is submitted."],
  requestId: ["申请编号", "Request ID"],
  status: ["状态", "Status"],
  attempt: ["提交次数", "Attempt"],
  createdAt: ["创建时间", "Created"],
  dueAt: ["初审截止时间", "First review due"],
  overdue: ["已超时", "Overdue"],
  currentIps: ["当前服务IP", "Current service IPs"],
  requestedIps: ["申请的服务IP", "Requested service IPs"],
  timeline: ["办理进度", "Timeline"],
  reasons: ["驳回原因", "Reasons"],
  modifyAndSubmit: ["修改并提交", "Modify and Submit"],
  withdraw: ["撤回申请", "Withdraw"],
  withdrawn: ["申请已撤回。", "The request is withdrawn."],
  refresh: ["刷新", "Refresh"],
  authorityApproved: ["通信管理局已审核通过。", "The communication administration approved it."],
  authorityRejected: ["通信管理局审核未通过。", "The communication administration rejected it."],
  forwarded: ["初审已通过，申请已提交至通信管理局审核。", "Approved at first review: submitted to the communication administration."],
  done_website_cancellation: ["网站已注销，并已从备案系统中清除。", "The website is cancelled and cleared from the license system."],
  done_access_cancellation: ["已取消接入，网站已从本服务商的备案系统中清除，主体备案号保留。", "Access is cancelled: the website is cleared from this provider's license system; the entity license number stays."],
  done_access_change: ["新的服务IP已生效。", "The new service IPs are in force."],
  sendCode: ["发送验证码", "Send code"],
  resetIntro: ["验证码将通过短信和邮件发送至主体的联系人，10分钟内有效。", "A code goes by SMS and email to the entity's contacts, valid for 10 minutes."],
  codeSent: ["验证码已发送至", "The code was sent to"],
  code: ["验证码", "Code"],
  newPassword: ["新备案密码（至少8位，包含字母和数字）", "New license password (8+ characters, letters and digits)"],
  setPassword: ["设置新密码", "Set the new password"],
  passwordChanged: ["备案密码已修改，已通过短信和邮件通知。", "The license password is changed; you were told by SMS and email."],
  entity: ["主体", "Entity"],
  website: ["网站", "Website"],
  type: ["类型", "Type"],
  approve: ["通过", "Approve"],
  reject: ["驳回", "Reject"],
  rejectReasons: ["驳回原因（可多选）", "Reasons to reject (pick any)"],
  otherReasons: ["其他原因（每行一条）", "Other reasons (one per line)"],
  decided: ["已处理：", "Decided: "],
  alreadyDecided: ["该申请已由其他审核员处理。", "Another reviewer already decided this request."],
  queueEmpty: ["没有待初审的申请。", "No request awaits first review."],
  review: ["审核", "Review"],
  history: ["历史", "History"],
  error: ["出错了", "Something went wrong"],
  loading: ["加载中…", "Loading…"],
  notFound: ["页面不存在。", "No such page."],
  chinaTime: ["北京时间", "China time"],
};

const STATUS = {
  submitted: ["已提交", "Submitted"],
  password_rejected: ["备案密码错误", "Password rejected"],
  pending_first_review: ["待初审", "Awaiting first review"],
  first_review_rejected: ["初审驳回", "Rejected at first review"],
  forwarded_to_authority: ["已提交管局", "With the authority"],
  authority_rejected: ["管局驳回", "Rejected by the authority"],
  approved: ["管局已通过", "Approved by the authority"],
  completed: ["已完成", "Completed"],
  withdrawn: ["已撤回", "Withdrawn"],
  expired: ["已过期", "Expired"],
  failed: ["处理失败", "Failed"],
};

let lang = localStorage.getItem("icp.lang") === "en" ? "en" : "zh-CN";
const pick = (pair) => (lang === "en" ? pair[1] : pair[0]);
const t = (key) => pick(TEXT[key] || [key, key]);
const statusLabel = (s) => (STATUS[s] ? pick(STATUS[s]) : s);

function chinaTime(iso) {
  const d = new Date(iso);
  if (!iso || isNaN(d)) return iso || "";
  const c = new Date(d.getTime() + 8 * 3600 * 1000);
  const p = (n) => String(n).padStart(2, "0");
  return `${c.getUTCFullYear()}-${p(c.getUTCMonth() + 1)}-${p(c.getUTCDate())} ${p(c.getUTCHours())}:${p(c.getUTCMinutes())} ${t("chinaTime")}`;
}

// ---------------------------------------------------------------- DOM

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

const main = () => document.getElementById("main");

function show(...nodes) {
  main().replaceChildren(...nodes);
}

function badge(status) {
  const tone = { completed: "ok", approved: "ok", password_rejected: "bad", first_review_rejected: "bad",
    authority_rejected: "bad", failed: "bad", expired: "bad", pending_first_review: "warn" }[status] || "";
  return h("span", { class: `badge ${tone}`, "data-status": status }, statusLabel(status));
}

function alertBox(error) {
  const text = error && error.code
    ? `${error.message} (${error.code}${error.retryAfterSeconds ? `, retry after ${error.retryAfterSeconds}s` : ""})`
    : String((error && error.message) || error);
  return h("div", { class: "alert", role: "alert", "data-code": error && error.code }, text);
}

// ---------------------------------------------------------------- API

class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || `http_${status}`;
    this.retryAfterSeconds = e.retryAfterSeconds;
  }
}

async function api(method, path, body, headers = {}) {
  // The API answers its texts (error messages, notes, reasons) in the language shown.
  const init = { method, headers: { "accept-language": lang, ...headers } };
  const token = sessionStorage.getItem("icp.token");
  if (token) init.headers.authorization = `Bearer ${token}`;
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(API + path, init);
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  if (!response.ok) throw new ApiError(response.status, json || { error: { message: text } });
  return json;
}

function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

// ---------------------------------------------------------------- session
// People sign in on the deployment's OpenID Connect provider (Authorization Code with PKCE): the
// console sends them to its login page and back to the page they asked for, and calls the API
// with the ID token. The session is the tab's (sessionStorage).

/** Where people sign in (`sign-in.json`), endpoints from the issuer's discovery when not given. */
let signInSettings = null;
async function settings() {
  if (signInSettings) return signInSettings;
  const s = await api("GET", "/console/sign-in.json");
  if (!s.authorizationEndpoint || !s.tokenEndpoint) {
    const response = await fetch(`${s.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`);
    if (!response.ok) throw new ApiError(503, { error: { message: t("signInFailed") } });
    const found = await response.json();
    s.authorizationEndpoint ||= found.authorization_endpoint;
    s.tokenEndpoint ||= found.token_endpoint;
    s.endSessionEndpoint ||= found.end_session_endpoint || "";
  }
  signInSettings = s;
  return s;
}

/** The console's own address, the client's registered redirect. */
const CONSOLE_URL = location.origin + location.pathname;
const base64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const randomString = () => base64url(crypto.getRandomValues(new Uint8Array(32)));

function decodeClaims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "="));
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0))));
  } catch {
    return null;
  }
}

/** The signed-in person: the ID token's claims and the role, while the token lives. */
function claims() {
  const token = sessionStorage.getItem("icp.token");
  const c = token && decodeClaims(token);
  if (!c || !signInSettings || c.exp * 1000 <= Date.now()) return null;
  const held = c[signInSettings.roleClaim];
  const role = [].concat(held || []).find((r) => ["customer", "reviewer", "operator"].includes(r));
  return { ...c, role };
}

const home = (who) => (who.role === "reviewer" ? "#/reviews" : "#/websites");

/** To the provider's login page; back on `back` (this page by default) once signed in. */
async function startSignIn(back = location.hash) {
  const s = await settings();
  const verifier = randomString();
  const state = randomString();
  const nonce = randomString();
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  sessionStorage.setItem("icp.signin", JSON.stringify({ verifier, state, nonce,
    back: back && back !== "#/signin" ? back : "" }));
  const url = new URL(s.authorizationEndpoint);
  url.search = new URLSearchParams({
    response_type: "code", client_id: s.clientId, redirect_uri: CONSOLE_URL, scope: s.scope,
    state, nonce, code_challenge: base64url(new Uint8Array(digest)), code_challenge_method: "S256",
    // The login page in the console's language (ui_locales by the standard, lang by Cognito).
    ui_locales: lang, lang,
  }).toString();
  location.assign(url);
}

/** Back from the login page with `?code=&state=`: the code for the ID token. */
async function finishSignIn(params) {
  const pending = JSON.parse(sessionStorage.getItem("icp.signin") || "null");
  sessionStorage.removeItem("icp.signin");
  // The code leaves the address bar (and the history) at once.
  history.replaceState(null, "", `${CONSOLE_URL}#/signin`);
  const failed = () => new ApiError(401, { error: { code: "sign_in_failed", message: t("signInFailed") } });
  if (!pending || !params.get("code") || params.get("state") !== pending.state) throw failed();
  const s = await settings();
  const response = await fetch(s.tokenEndpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", code: params.get("code"),
      redirect_uri: CONSOLE_URL, client_id: s.clientId, code_verifier: pending.verifier }),
  });
  const tokens = response.ok ? await response.json() : {};
  const c = tokens.id_token && decodeClaims(tokens.id_token);
  if (!c || c.nonce !== pending.nonce) throw failed();
  sessionStorage.setItem("icp.token", tokens.id_token);
  const who = claims();
  if (!who) throw failed();
  history.replaceState(null, "", CONSOLE_URL + (pending.back || home(who)));
}

/** Ends the console's session and the provider's, and comes back to the sign-in page. */
async function signOut() {
  const token = sessionStorage.getItem("icp.token");
  sessionStorage.removeItem("icp.token");
  const s = await settings();
  if (!s.endSessionEndpoint) {
    location.hash = "#/signin";
    return;
  }
  const url = new URL(s.endSessionEndpoint);
  const params = { client_id: s.clientId, post_logout_redirect_uri: CONSOLE_URL, ui_locales: lang };
  if (token) params.id_token_hint = token;
  // Cognito's logout names the way back logout_uri.
  if (/amazoncognito\.com$/.test(url.hostname)) params.logout_uri = CONSOLE_URL;
  url.search = new URLSearchParams(params).toString();
  location.assign(url);
}

/** A session that ended (expired, or no longer taken by the API): sign in again and come back
 * here. Not twice in a minute: a token refused as soon as it is issued is shown, not looped on. */
function sessionEnded() {
  sessionStorage.removeItem("icp.token");
  const last = Number(sessionStorage.getItem("icp.autoSignInAt") || 0);
  if (Date.now() - last < 60_000) return false;
  sessionStorage.setItem("icp.autoSignInAt", String(Date.now()));
  startSignIn(location.hash);
  return true;
}

// ---------------------------------------------------------------- pages

/** Why the last sign-in did not complete, shown once on the sign-in page. */
let signInError = null;

async function signInPage() {
  const error = signInError;
  signInError = null;
  show(h("h1", {}, t("signIn")), ...(error ? [alertBox(error)] : []), h("section", { class: "card" },
    h("p", {}, t("signInIntro")),
    h("div", { class: "actions" }, h("button", { type: "button", id: "signin", onclick: () => startSignIn() }, t("signIn")))));
}

async function websitesPage(flash) {
  const { websites } = await api("GET", "/websites");
  const rows = websites.map((w) => {
    const menu = h("div", { class: "menu", id: `menu-${w.websiteId}`, hidden: true },
      TYPES.map((type) => h("a", { class: "button secondary", href: `#/websites/${w.websiteId}/new/${type}`,
        "data-type": type }, t(type))));
    const toggle = h("button", { type: "button", class: "secondary", "aria-expanded": "false",
      "aria-controls": menu.id, "aria-label": `${t("more")} ${w.domain}`,
      onclick: () => {
        menu.hidden = !menu.hidden;
        toggle.setAttribute("aria-expanded", String(!menu.hidden));
      } }, `${t("more")} ▾`);
    const open = w.openRequest
      ? h("a", { href: `#/requests/${w.openRequest.requestId}` }, t(w.openRequest.type), " ", badge(w.openRequest.status))
      : t("none");
    return h("tr", { "data-website": w.domain },
      h("td", { "data-label": t("domain") }, w.domain),
      h("td", { "data-label": t("websiteLicense") }, w.websiteLicenseNumber),
      h("td", { "data-label": t("serviceIps") }, w.serviceIps.join(", ")),
      h("td", { "data-label": t("openRequest") }, open),
      h("td", { "data-label": t("more") }, toggle, menu));
  });
  show(h("h1", {}, t("myWebsites")), flash ? h("div", { class: "notice", role: "status" }, flash) : "",
    websites.length === 0 ? h("p", {}, t("noWebsites")) :
      h("table", {}, h("thead", {}, h("tr", {}, ["domain", "websiteLicense", "serviceIps", "openRequest", "more"]
        .map((k) => h("th", { scope: "col" }, t(k))))), h("tbody", {}, rows)));
}

async function requestsPage() {
  const { requests } = await api("GET", "/requests");
  show(h("h1", {}, t("myRequests")), requests.length === 0 ? h("p", {}, t("noRequests")) :
    h("table", {}, h("thead", {}, h("tr", {}, ["requestId", "type", "website", "status", "createdAt"]
      .map((k) => h("th", { scope: "col" }, t(k))))),
    h("tbody", {}, requests.map((r) => h("tr", {},
      h("td", { "data-label": t("requestId") }, h("a", { href: `#/requests/${r.requestId}` }, r.requestId)),
      h("td", { "data-label": t("type") }, t(r.type)),
      h("td", { "data-label": t("website") }, (r.website && r.website.domain) || r.websiteId),
      h("td", { "data-label": t("status") }, badge(r.status)),
      h("td", { "data-label": t("createdAt") }, chinaTime(r.createdAt)))))));
}

function ipsField(id, initial) {
  const area = h("textarea", { id, name: id, "aria-describedby": `${id}-error` }, initial.join("\n"));
  const error = h("div", { class: "field-error", id: `${id}-error`, "aria-live": "polite" });
  return {
    nodes: [h("label", { for: id }, t("ipsLabel")), area, error],
    value: () => area.value.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean),
    error,
  };
}

function passwordField(id) {
  const input = h("input", { type: "password", id, name: id, autocomplete: "current-password",
    "aria-describedby": `${id}-error` });
  const error = h("div", { class: "field-error", id: `${id}-error`, "aria-live": "polite" });
  return { nodes: [h("label", { for: id }, t("password")), input], input, error };
}

/// Shows an API error by the field it is about, or above the form.
function showError(e, fields, general) {
  for (const f of Object.values(fields)) if (f) f.error.textContent = "";
  general.replaceChildren();
  const field = { invalid_service_ips: fields.ips, invalid_license_password: fields.password }[e.code];
  if (field) field.error.textContent = e.message;
  else general.replaceChildren(alertBox(e));
}

async function newRequestPage(websiteId, type) {
  if (!TYPES.includes(type)) throw new ApiError(404, { error: { code: "not_found", message: t("notFound") } });
  const [website, impact] = await Promise.all([
    api("GET", `/websites/${encodeURIComponent(websiteId)}`),
    api("GET", `/websites/${encodeURIComponent(websiteId)}/impact?type=${type}`),
  ]);
  const title = h("h1", {}, `${t(type)} · ${website.domain}`);
  const groups = ["stops", "stays", "you_must", "process"].map((kind) => {
    const items = impact.consequences.filter((c) => c.kind === kind);
    return items.length === 0 ? "" : h("section", {}, h("h2", {}, t(kind)),
      h("ul", { class: "consequences" }, items.map((c) => h("li", { "data-code": c.code }, pick([c.text["zh-CN"], c.text.en])))));
  });
  const dialog = h("section", { class: "card", role: "dialog", "aria-modal": "false", "aria-labelledby": "confirm-title" },
    h("h2", { id: "confirm-title" }, t("confirmTitle")), h("p", { class: "hint" }, t("confirmIntro")),
    impact.lastWebsite ? h("div", { class: "notice" }, t("lastWebsite")) : "", groups,
    h("div", { class: "actions" },
      h("button", { type: "button", id: "ok", onclick: () => passwordStep() }, t("ok")),
      h("button", { type: "button", class: "secondary", id: "give-up", onclick: () => {
        sessionStorage.setItem("icp.flash", t("gaveUp"));
        location.hash = "#/websites";
      } }, t("giveUp"))));
  show(title, dialog);
  document.getElementById("ok").focus();

  function passwordStep() {
    const general = h("div");
    const ips = type === "access_change" ? ipsField("service-ips", website.serviceIps) : null;
    const password = passwordField("license-password");
    let key = newKey();
    const form = h("form", { class: "card", onsubmit: async (e) => {
      e.preventDefault();
      const body = { type, websiteId, licensePassword: password.input.value };
      if (ips) body.serviceIps = ips.value();
      const submit = form.querySelector("button[type=submit]");
      submit.disabled = true;
      try {
        const answer = await api("POST", "/requests", body, { "idempotency-key": key });
        location.hash = `#/requests/${answer.requestId}`;
      } catch (err) {
        // Nothing was written on a refusal: the next try is a new submission.
        if (err instanceof ApiError && err.status < 500) key = newKey();
        showError(err, { ips, password }, general);
        submit.disabled = false;
      }
    } },
    h("div", { class: "notice" }, t("notice")), general,
    ips ? ips.nodes : "",
    password.nodes, password.error,
    h("p", {}, h("a", { href: "#/password-reset" }, t("forgot"))),
    h("div", { class: "actions" }, h("button", { type: "submit" }, t("next")),
      h("button", { type: "button", class: "secondary", onclick: () => newRequestPage(websiteId, type) }, t("back"))));
    show(title, form);
    (ips ? document.getElementById("service-ips") : password.input).focus();
  }
}

async function requestPage(requestId, flash) {
  const r = await api("GET", `/requests/${encodeURIComponent(requestId)}`);
  const domain = (r.website && r.website.domain) || r.websiteId;
  const facts = h("dl", { class: "facts" },
    h("dt", {}, t("requestId")), h("dd", {}, r.requestId),
    h("dt", {}, t("status")), h("dd", { id: "status" }, badge(r.status)),
    h("dt", {}, t("attempt")), h("dd", {}, String(r.attempt)),
    h("dt", {}, t("createdAt")), h("dd", {}, chinaTime(r.createdAt)),
    r.reviewDueAt && r.status === "pending_first_review" ? [h("dt", {}, t("dueAt")), h("dd", { id: "due" }, chinaTime(r.reviewDueAt))] : "",
    r.serviceIps ? [h("dt", {}, t("requestedIps")), h("dd", {}, r.serviceIps.join(", "))] : "",
    r.website && r.type === "access_change" ? [h("dt", {}, t("currentIps")), h("dd", { id: "current-ips" }, r.website.serviceIps.join(", "))] : "");
  const parts = [h("h1", {}, `${t(r.type)} · ${domain}`), flash ? h("div", { class: "success", role: "status" }, flash) : "",
    h("section", { class: "card" }, facts)];

  if (r.status === "password_rejected" || r.status === "first_review_rejected") {
    const general = h("div");
    const ips = r.type === "access_change" ? ipsField("service-ips", r.serviceIps || []) : null;
    const password = passwordField("license-password");
    const form = h("form", { class: "card", id: "modify", onsubmit: async (e) => {
      e.preventDefault();
      const body = { licensePassword: password.input.value };
      if (ips) body.serviceIps = ips.value();
      try {
        await api("POST", `/requests/${r.requestId}/resubmit`, body);
        requestPage(r.requestId, t("submitted"));
      } catch (err) {
        showError(err, { ips, password }, general);
      }
    } },
    h("h2", {}, t("reasons")),
    h("ul", { class: "alert", id: "reasons" }, (r.rejectionReasons || []).map((reason) => h("li", {}, reason))),
    h("h2", {}, t("modifyAndSubmit")), general, ips ? ips.nodes : "", password.nodes, password.error,
    h("p", {}, h("a", { href: "#/password-reset" }, t("forgot"))),
    h("div", { class: "actions" }, h("button", { type: "submit" }, t("modifyAndSubmit"))));
    parts.push(form);
  }
  const outcome = {
    forwarded_to_authority: ["notice", t("forwarded")],
    approved: ["success", t("authorityApproved")],
    completed: ["success", t(`done_${r.type}`)],
    authority_rejected: ["alert", `${t("authorityRejected")} ${(r.rejectionReasons || []).join("; ")}`],
  }[r.status];
  if (outcome) parts.push(h("div", { class: outcome[0], id: "outcome" }, outcome[1]));

  const general = h("div");
  const actions = h("div", { class: "actions" },
    WITHDRAWABLE.includes(r.status) ? h("button", { type: "button", class: "danger", id: "withdraw", onclick: async () => {
      try {
        await api("POST", `/requests/${r.requestId}/withdraw`, {});
        requestPage(r.requestId, t("withdrawn"));
      } catch (err) {
        general.replaceChildren(alertBox(err));
      }
    } }, t("withdraw")) : "",
    h("button", { type: "button", class: "secondary", onclick: () => requestPage(r.requestId) }, t("refresh")));
  parts.push(general, actions, timeline(r.history));
  show(...parts);
  if (!TERMINAL.includes(r.status)) follow(() => requestPage(r.requestId), r);
}

function timeline(history) {
  return h("section", {}, h("h2", {}, t("timeline")),
    h("ol", { class: "timeline", id: "timeline" }, history.map((e) => h("li", { "data-status": e.status },
      h("time", { datetime: e.at }, chinaTime(e.at)), badge(e.status), " ", h("span", { class: "note" }, e.note),
      e.reasons && e.reasons.length ? h("ul", {}, e.reasons.map((x) => h("li", {}, x))) : ""))));
}

/// Reloads a page every 2 s while it is the page shown and its request has not changed by hand
/// (a form being filled in stops it).
let following = 0;
function follow(reload, request) {
  const mine = ++following;
  setTimeout(async () => {
    const typing = document.activeElement && ["INPUT", "TEXTAREA"].includes(document.activeElement.tagName);
    if (mine !== following || typing) return;
    try {
      const now = await api("GET", `/requests/${encodeURIComponent(request.requestId)}`);
      if (mine !== following) return;
      if (now.status !== request.status || now.history.length !== request.history.length) reload();
      else follow(reload, request);
    } catch {
      follow(reload, request);
    }
  }, 2000);
}

async function passwordResetPage() {
  const general = h("div");
  const start = h("button", { type: "button", id: "send-code", onclick: async () => {
    try {
      const started = await api("POST", "/entity/password-reset", {});
      confirmStep(started);
    } catch (err) {
      general.replaceChildren(alertBox(err));
    }
  } }, t("sendCode"));
  show(h("h1", {}, t("retrieve")), h("section", { class: "card" }, h("p", {}, t("resetIntro")), general,
    h("div", { class: "actions" }, start)));

  function confirmStep(started) {
    const result = h("div");
    const code = h("input", { type: "text", id: "code", inputmode: "numeric", autocomplete: "one-time-code", maxlength: "6" });
    const password = h("input", { type: "password", id: "new-password", autocomplete: "new-password" });
    const form = h("form", { class: "card", onsubmit: async (e) => {
      e.preventDefault();
      try {
        await api("POST", `/entity/password-reset/${started.resetId}/confirm`, { code: code.value.trim(), newPassword: password.value });
        result.replaceChildren(h("div", { class: "success", role: "status" }, t("passwordChanged")));
        form.querySelector("button[type=submit]").disabled = true;
      } catch (err) {
        result.replaceChildren(alertBox(err));
      }
    } },
    h("div", { class: "notice", role: "status" }, `${t("codeSent")} ${started.sentTo.phone} / ${started.sentTo.email} (${chinaTime(started.expiresAt)})`),
    h("label", { for: "code" }, t("code")), code,
    h("label", { for: "new-password" }, t("newPassword")), password, result,
    h("div", { class: "actions" }, h("button", { type: "submit" }, t("setPassword"))));
    show(h("h1", {}, t("retrieve")), form);
    code.focus();
  }
}

async function reviewsPage() {
  const reviews = [];
  let path = "/reviews?status=pending&limit=100";
  for (;;) {
    const page = await api("GET", path);
    reviews.push(...page.reviews);
    if (!page.nextToken) break;
    path = `/reviews?status=pending&limit=100&nextToken=${encodeURIComponent(page.nextToken)}`;
  }
  const now = Date.now();
  show(h("h1", {}, t("queue")), reviews.length === 0 ? h("p", {}, t("queueEmpty")) :
    h("table", {}, h("thead", {}, h("tr", {}, ["dueAt", "type", "website", "entity", "attempt", "review"]
      .map((k) => h("th", { scope: "col" }, t(k))))),
    h("tbody", {}, reviews.map((r) => {
      const late = r.dueAt && new Date(r.dueAt).getTime() < now;
      return h("tr", { "data-request": r.requestId, class: late ? "overdue" : "" },
        h("td", { "data-label": t("dueAt") }, chinaTime(r.dueAt), late ? [" ", h("span", { class: "badge bad" }, t("overdue"))] : ""),
        h("td", { "data-label": t("type") }, t(r.type)),
        h("td", { "data-label": t("website") }, named(r.domain || r.websiteId, r.websiteLicenseNumber)),
        h("td", { "data-label": t("entity") }, named(r.entityName || r.entityId, r.entityLicenseNumber)),
        h("td", { "data-label": t("attempt") }, String(r.attempt)),
        h("td", { "data-label": t("review") }, h("a", { href: `#/reviews/${r.requestId}` }, t("review"))));
    }))));
}

/// A name with its license number under it, when there is one.
function named(name, licenseNumber) {
  return [name, licenseNumber ? [h("br"), h("small", {}, licenseNumber)] : ""];
}

async function reviewPage(requestId, flash) {
  const r = await api("GET", `/requests/${encodeURIComponent(requestId)}`);
  const w = r.website || {};
  const parts = [h("h1", {}, `${t("review")} · ${t(r.type)} · ${w.domain || r.websiteId}`),
    flash ? h("div", { class: "alert", role: "alert" }, flash) : "",
    h("section", { class: "card" }, h("dl", { class: "facts" },
      h("dt", {}, t("requestId")), h("dd", {}, r.requestId),
      h("dt", {}, t("entity")), h("dd", { id: "entity" }, named((r.subject && r.subject.entityName) || r.entityId,
        r.subject && r.subject.entityLicenseNumber)),
      h("dt", {}, t("website")), h("dd", {}, `${w.domain || r.websiteId} (${w.websiteLicenseNumber || ""})`),
      h("dt", {}, t("type")), h("dd", {}, t(r.type)),
      h("dt", {}, t("status")), h("dd", { id: "status" }, badge(r.status)),
      h("dt", {}, t("attempt")), h("dd", {}, String(r.attempt)),
      r.reviewDueAt ? [h("dt", {}, t("dueAt")), h("dd", {}, chinaTime(r.reviewDueAt))] : "")),
    r.type === "access_change" ? h("section", { class: "side" },
      h("div", { class: "card" }, h("h2", {}, t("currentIps")), h("p", { id: "old-ips" }, (w.serviceIps || []).join(", "))),
      h("div", { class: "card" }, h("h2", {}, t("requestedIps")), h("p", { id: "new-ips" }, (r.serviceIps || []).join(", ")))) : ""];
  if (r.status === "pending_first_review" && !r.review) {
    const general = h("div");
    const decide = async (decision, reasonCodes, reasons) => {
      try {
        await api("POST", `/reviews/${r.requestId}/decision`, { decision, reasonCodes, reasons });
        location.hash = "#/reviews";
      } catch (err) {
        if (err.code === "already_decided") reviewPage(r.requestId, `${t("alreadyDecided")} (${err.message})`);
        else general.replaceChildren(alertBox(err));
      }
    };
    const common = await api("GET", "/reviews/reasons");
    const boxes = common.map((reason, i) => {
      const box = h("input", { type: "checkbox", id: `reason-${i}`, value: reason.code });
      return { box, node: h("label", { for: `reason-${i}` }, box, pick([reason.text["zh-CN"], reason.text.en])) };
    });
    const other = h("textarea", { id: "other-reasons" });
    parts.push(h("section", { class: "card" }, general,
      h("div", { class: "actions" }, h("button", { type: "button", id: "approve", onclick: () => decide("approve", [], []) }, t("approve"))),
      h("form", { class: "reasons", onsubmit: (e) => {
        e.preventDefault();
        const reasonCodes = boxes.filter((b) => b.box.checked).map((b) => b.box.value);
        const reasons = other.value.split("\n").map((s) => s.trim()).filter(Boolean);
        decide("reject", reasonCodes, reasons);
      } },
      h("fieldset", {}, h("legend", {}, t("rejectReasons")), boxes.map((b) => b.node)),
      h("label", { for: "other-reasons" }, t("otherReasons")), other,
      h("div", { class: "actions" }, h("button", { type: "submit", class: "danger", id: "reject" }, t("reject"))))));
  } else {
    parts.push(h("div", { class: "notice", id: "decided" }, t("decided"), statusLabel(r.status),
      r.review ? ` (${r.review.reviewer}, ${r.review.decision})` : ""));
  }
  parts.push(timeline(r.history));
  show(...parts);
}

// ---------------------------------------------------------------- routing

const ROUTES = [
  [/^#\/signin$/, () => signInPage()],
  [/^#\/websites$/, () => websitesPage(takeFlash())],
  [/^#\/websites\/([^/]+)\/new\/([a-z_]+)$/, (id, type) => newRequestPage(decodeURIComponent(id), type)],
  [/^#\/requests$/, () => requestsPage()],
  [/^#\/requests\/([^/]+)$/, (id) => requestPage(decodeURIComponent(id))],
  [/^#\/password-reset$/, () => passwordResetPage()],
  [/^#\/reviews$/, () => reviewsPage()],
  [/^#\/reviews\/([^/]+)$/, (id) => reviewPage(decodeURIComponent(id))],
];

function takeFlash() {
  const flash = sessionStorage.getItem("icp.flash");
  sessionStorage.removeItem("icp.flash");
  return flash;
}

function chrome() {
  document.documentElement.lang = lang;
  document.title = `${t("brand")} · ${pick(["备案变更", "License changes"])}`;
  document.getElementById("brand").textContent = t("brand");
  document.getElementById("lang").textContent = t("switchTo");
  const who = claims();
  const signout = document.getElementById("signout");
  signout.hidden = !who;
  signout.textContent = t("signOut");
  const links = !who ? [] : who.role === "reviewer" ? [["#/reviews", "queue"]]
    : [["#/websites", "myWebsites"], ["#/requests", "myRequests"], ["#/password-reset", "retrieve"]];
  document.getElementById("nav").replaceChildren(...links.map(([href, key]) =>
    h("a", { href, "aria-current": location.hash.startsWith(href) ? "page" : false }, t(key))));
}

async function render() {
  following++;
  try {
    await settings();
  } catch (err) {
    show(h("h1", {}, t("error")), alertBox(err));
    return;
  }
  const who = claims();
  if (!who && location.hash !== "#/signin") {
    // An ended session goes back to the login page, to return here; a first visit sees why.
    if (sessionStorage.getItem("icp.token") && sessionEnded()) return;
    location.hash = "#/signin";
    return;
  }
  if (!location.hash || location.hash === "#/") {
    location.hash = who.role === "reviewer" ? "#/reviews" : "#/websites";
    return;
  }
  chrome();
  show(h("p", { "aria-busy": "true" }, t("loading")));
  const route = ROUTES.find(([re]) => re.test(location.hash));
  try {
    if (!route) throw new ApiError(404, { error: { code: "not_found", message: t("notFound") } });
    await route[1](...location.hash.match(route[0]).slice(1));
    if (!main().contains(document.activeElement)) main().focus();
  } catch (err) {
    if (err.status === 401 && err.code === "unauthorized" && sessionEnded()) return;
    show(h("h1", {}, t("error")), alertBox(err));
  }
}

document.getElementById("lang").addEventListener("click", () => {
  lang = lang === "en" ? "zh-CN" : "en";
  localStorage.setItem("icp.lang", lang);
  render();
});
document.getElementById("signout").addEventListener("click", () => signOut());
window.addEventListener("hashchange", render);
window.addEventListener("unhandledrejection", (e) => show(h("h1", {}, t("error")), alertBox(e.reason)));
const returned = new URLSearchParams(location.search);
if (returned.has("code") || returned.has("error")) {
  finishSignIn(returned).catch((err) => { signInError = err; }).finally(render);
} else {
  render();
}
