// The console as its people use it, in headless Chromium against the local stack: a customer
// files each of the three requests through the pages (seeing the consequences first, and
// giving up once), the reviewer rejects one with reasons, the customer modifies and submits it,
// the reviewer approves, the authority simulator decides, and the customer's pages show the
// results. Once in Chinese, once in English, side by side. Screenshots of the main pages go to
// $CONSOLE_SCREENSHOTS (infra/local/console_test.sh: .local/, or docs/console/ for the README).

import { test, expect } from "@playwright/test";
import { readFileSync, mkdirSync } from "node:fs";

const fixture = JSON.parse(readFileSync(process.env.CONSOLE_FIXTURE, "utf8"));
const SHOTS = `${process.env.CONSOLE_SCREENSHOTS}/`;
mkdirSync(SHOTS, { recursive: true });

const WORDS = {
  zh: { more: "更多", giveUp: "放弃", ok: "确定", next: "下一步", gaveUp: "已放弃", modify: "修改并提交",
    approve: "通过", reject: "驳回", review: "审核", pending: "待初审", completed: "已完成",
    pwRejected: "备案密码错误", reviewRejected: "初审驳回", withdraw: "撤回申请", already: "该申请已由其他审核员处理",
    types: { website_cancellation: "注销网站", access_cancellation: "取消接入", access_change: "变更接入" },
    reason: "服务IP不属于本服务商", signIn: "登录", myWebsites: "我的网站", queue: "待初审" },
  en: { more: "More", giveUp: "Give Up", ok: "OK", next: "Next", gaveUp: "You gave up", modify: "Modify and Submit",
    approve: "Approve", reject: "Reject", review: "Review", pending: "Awaiting first review", completed: "Completed",
    pwRejected: "Password rejected", reviewRejected: "Rejected at first review", withdraw: "Withdraw",
    already: "Another reviewer already decided",
    types: { website_cancellation: "Website cancellation", access_cancellation: "Cancel access", access_change: "Change access" },
    reason: "The service IPs are not this provider's", signIn: "Sign in", myWebsites: "My websites",
    queue: "Review queue" },
};

/// Every console error must be the browser's note of an error answer the test provoked.
function watchConsole(page, allowed) {
  const errors = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    const status = /status of (\d{3})/.exec(msg.text());
    if (!(status && allowed.has(Number(status[1])))) errors.push(`${msg.text()} ${msg.location().url}`);
  });
  return errors;
}

/// The local OpenID Connect provider's login page, in the console's language.
const LOGIN = {
  zh: { title: "登录备案系统", user: "用户名", password: "密码", button: "登录", wrong: "用户名或密码错误" },
  en: { title: "Sign in to the License System", user: "User name", password: "Password", button: "Sign in",
    wrong: "Wrong user name or password" },
};
const startsWith = (url) => new RegExp(`^${url.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`);

/// From the console's sign-in page to the provider's login page and back, signed in; with
/// `wrongFirst`, a wrong password first, which the login page refuses.
async function signIn(page, person, lang, { wrongFirst = false } = {}) {
  await page.goto(fixture.consoleUrl);
  await expect(page.locator("h1")).toHaveText(/登录|Sign in/);
  // No token to paste and no demo people to pick: the provider's login page is the way in.
  await expect(page.locator("main textarea, main input, main select")).toHaveCount(0);
  if (lang === "en") await page.getByRole("button", { name: "English" }).click();
  await page.getByRole("button", { name: WORDS[lang].signIn, exact: true }).click();
  await logIn(page, person, lang, { wrongFirst });
}

async function logIn(page, person, lang, { wrongFirst = false } = {}) {
  const l = LOGIN[lang];
  await expect(page).toHaveURL(startsWith(fixture.issuer));
  await expect(page.getByRole("heading", { name: l.title })).toBeVisible();
  if (wrongFirst) {
    await page.getByLabel(l.user, { exact: true }).fill(person.username);
    await page.getByLabel(l.password, { exact: true }).fill(`${person.password}-not`);
    await page.getByRole("button", { name: l.button, exact: true }).click();
    await expect(page.getByRole("alert")).toContainText(l.wrong);
  }
  await page.getByLabel(l.user, { exact: true }).fill(person.username);
  await page.getByLabel(l.password, { exact: true }).fill(person.password);
  await page.getByRole("button", { name: l.button, exact: true }).click();
  await expect(page).toHaveURL(startsWith(fixture.consoleUrl));
}

async function api(request, method, path, token, body) {
  const response = await request.fetch(fixture.apiUrl + path, {
    method, headers: { authorization: `Bearer ${token}` }, data: body,
  });
  return { status: response.status(), body: await response.json() };
}

const RFC3339 = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;
const CHINESE = /[\u4e00-\u9fff]/;

/// Text for people on a Chinese page has Chinese in it; on an English page it has none.
async function expectLanguage(locator, lang) {
  const text = await locator.innerText();
  if (lang === "zh") expect(text).toMatch(CHINESE);
  else expect(text).not.toMatch(CHINESE);
}

function row(page, domain) {
  return page.locator(`tr[data-website="${domain}"]`);
}

/// From the websites list: More → the request type → the consequences, then OK.
async function openRequestForm(page, w, domain, type) {
  await page.getByRole("link", { name: w.myWebsites }).click();
  await row(page, domain).getByRole("button", { name: new RegExp(w.more) }).click();
  await row(page, domain).locator(".menu").getByRole("link", { name: w.types[type], exact: true }).click();
  await expect(page.getByRole("dialog")).toBeVisible();
}

async function expectStatus(page, label) {
  await expect(page.locator("#status")).toContainText(label);
}

async function requestIdOnPage(page) {
  await expect(page).toHaveURL(/#\/requests\/req-/);
  return page.url().split("#/requests/")[1];
}

for (const [index, lang] of [[0, "zh"], [1, "en"]]) {
  test(`a customer files all three requests and a reviewer decides them (${lang})`, async ({ browser, request }) => {
    const w = WORDS[lang];
    const customer = fixture.customers[index];
    const [site0, site1, site2] = customer.websites;
    const shot = (name) => (lang === "zh" ? `${SHOTS}${name}.png` : `${SHOTS}${name}-en.png`);
    const customerContext = await browser.newContext();
    const page = await customerContext.newPage();
    // 400 (an IP refused by the field), 409 (a request already open).
    const customerErrors = watchConsole(page, new Set([400, 409]));

    await signIn(page, customer, lang, { wrongFirst: true });
    await expect(page.locator("h1")).toHaveText(w.myWebsites);
    await expect(row(page, site0.domain)).toBeVisible();
    await page.screenshot({ path: shot("websites"), fullPage: true });

    // Website cancellation: the consequences first; give up once, then OK by keyboard.
    await openRequestForm(page, w, site0.domain, "website_cancellation");
    await expect(page.locator('[data-code="website_filing_cancelled"]')).toBeVisible();
    await page.getByRole("button", { name: w.giveUp }).click();
    await expect(page.getByRole("status")).toContainText(w.gaveUp);
    await openRequestForm(page, w, site0.domain, "website_cancellation");
    await page.keyboard.press("Enter"); // OK has the focus
    await page.getByLabel(/备案密码|License password/).fill(customer.licensePassword);
    await page.getByRole("button", { name: w.next }).click();
    const cancellation = await requestIdOnPage(page);
    await expectStatus(page, w.pending);
    await expect(page.locator("#due")).toContainText(lang === "zh" ? "北京时间" : "China time");

    // Cancel access: its warnings, then a wrong password, its message, Modify and Submit.
    await openRequestForm(page, w, site1.domain, "access_cancellation");
    for (const code of ["entity_license_number_stays", "blocked_if_still_on_provider_servers", "move_filing_to_new_provider"]) {
      await expect(page.locator(`[data-code="${code}"]`)).toBeVisible();
    }
    if (lang === "zh") await page.screenshot({ path: shot("confirm"), fullPage: true });
    await page.getByRole("button", { name: w.ok, exact: true }).click();
    await page.getByLabel(/备案密码|License password/).fill("not-the-password");
    await page.getByRole("button", { name: w.next }).click();
    const accessCancellation = await requestIdOnPage(page);
    await expectStatus(page, w.pwRejected);
    await expect(page.locator("#reasons")).toContainText(lang === "zh" ? "备案密码错误。" : "The license password is incorrect.");
    await page.locator("#modify").getByLabel(/备案密码|License password/).fill(customer.licensePassword);
    await page.getByRole("button", { name: w.modify }).click();
    await expectStatus(page, w.pending);

    // Change access: an IP the API refuses is shown by its field; then a good one.
    await openRequestForm(page, w, site2.domain, "access_change");
    await page.getByRole("button", { name: w.ok, exact: true }).click();
    const ips = page.getByLabel(/服务IP|service IPs/);
    await ips.fill("999.1.1.1");
    await page.getByLabel(/备案密码|License password/).fill(customer.licensePassword);
    await page.getByRole("button", { name: w.next }).click();
    await expect(page.locator("#service-ips-error")).toContainText("999.1.1.1");
    await expectLanguage(page.locator("#service-ips-error"), lang);
    // A public address outside the provider's ranges: refused by the API, shown by the field.
    await ips.fill("8.8.8.8");
    await page.getByRole("button", { name: w.next }).click();
    await expect(page.locator("#service-ips-error")).toContainText("8.8.8.8");
    await expect(page.locator("#service-ips-error")).toContainText(lang === "zh" ? "地址段" : "IP ranges");
    await expectLanguage(page.locator("#service-ips-error"), lang);
    await ips.fill("198.51.100.77");
    await page.getByRole("button", { name: w.next }).click();
    const accessChange = await requestIdOnPage(page);
    await expectStatus(page, w.pending);

    // Another request on a website with one open: the API's message on the page.
    await openRequestForm(page, w, site0.domain, "website_cancellation");
    await page.getByRole("button", { name: w.ok, exact: true }).click();
    await page.getByLabel(/备案密码|License password/).fill(customer.licensePassword);
    await page.getByRole("button", { name: w.next }).click();
    await expect(page.getByRole("alert")).toContainText("request_already_open");
    await expectLanguage(page.getByRole("alert"), lang);

    // The reviewer: the queue, the change's detail (old and new IPs), a rejection with reasons.
    const reviewerContext = await browser.newContext();
    const reviewer = await reviewerContext.newPage();
    const reviewerErrors = watchConsole(reviewer, new Set([409]));
    await signIn(reviewer, fixture.reviewer, lang);
    for (const id of [cancellation, accessCancellation, accessChange]) {
      await expect(reviewer.locator(`tr[data-request="${id}"]`)).toBeVisible();
    }
    // The queue names the website, the entity and their license numbers.
    const queued = reviewer.locator(`tr[data-request="${accessChange}"]`);
    for (const shown of [site2.domain, "控制台测试公司", "京ICP备20269999号"]) await expect(queued).toContainText(shown);
    if (lang === "zh") await reviewer.screenshot({ path: shot("queue"), fullPage: true });
    await reviewer.locator(`tr[data-request="${accessChange}"]`).getByRole("link", { name: w.review }).click();
    await expect(reviewer.locator("#old-ips")).toHaveText(site2.serviceIps.join(", "));
    await expect(reviewer.locator("#new-ips")).toHaveText("198.51.100.77");
    await expect(reviewer.locator("#entity")).toContainText("京ICP备20269999号");
    if (lang === "zh") await reviewer.screenshot({ path: shot("decision"), fullPage: true });
    await reviewer.getByLabel(w.reason).check();
    await reviewer.getByLabel(/其他原因|Other reasons/).fill("Please use the IPs of your new servers");
    await reviewer.getByRole("button", { name: w.reject, exact: true }).click();
    await expect(reviewer.locator("h1")).toHaveText(w.queue);

    // A decision another reviewer made first is shown as such.
    await reviewer.goto(`${fixture.consoleUrl}#/reviews/${cancellation}`);
    await expect(reviewer.getByRole("button", { name: w.approve })).toBeVisible();
    const first = await api(request, "POST", `/reviews/${cancellation}/decision`, fixture.otherReviewerToken, { decision: "approve", reasons: [] });
    expect(first.status).toBe(200);
    await reviewer.getByRole("button", { name: w.approve }).click();
    await expect(reviewer.getByRole("alert")).toContainText(w.already);
    await reviewer.goto(`${fixture.consoleUrl}#/reviews/${accessCancellation}`);
    await reviewer.getByRole("button", { name: w.approve }).click();
    await expect(reviewer.locator("h1")).toHaveText(w.queue);

    // The customer sees the reasons and modifies and submits; the reviewer approves.
    await page.goto(`${fixture.consoleUrl}#/requests/${accessChange}`);
    await expectStatus(page, w.reviewRejected);
    await expect(page.locator("#reasons")).toContainText(w.reason);
    await expect(page.locator("#reasons")).toContainText("Please use the IPs of your new servers");
    await page.locator("#modify").getByLabel(/备案密码|License password/).fill(customer.licensePassword);
    await page.getByRole("button", { name: w.modify }).click();
    await expectStatus(page, w.pending);
    await reviewer.goto(`${fixture.consoleUrl}#/reviews/${accessChange}`);
    await reviewer.getByRole("button", { name: w.approve }).click();
    await expect(reviewer.locator("h1")).toHaveText(w.queue);

    // The authority simulator decides each; the customer's pages show the results.
    for (const id of [cancellation, accessCancellation, accessChange]) {
      await expect.poll(async () => (await api(request, "GET", `/requests/${id}`, customer.token)).body.submissionId,
        { timeout: 60_000 }).toBeTruthy();
      const { body } = await api(request, "GET", `/requests/${id}`, customer.token);
      const decided = await api(request, "POST", `/authority-sim/submissions/${body.submissionId}/decision`,
        fixture.operatorToken, { decision: "approved" });
      expect(decided.status).toBe(200);
    }
    for (const id of [cancellation, accessCancellation, accessChange]) {
      await page.goto(`${fixture.consoleUrl}#/requests/${id}`);
      await expectStatus(page, w.completed);
    }
    await expect(page.locator("#outcome")).toContainText(lang === "zh" ? "新的服务IP已生效" : "new service IPs are in force");
    await expect(page.locator('#timeline > li[data-status="first_review_rejected"]')).toHaveCount(1);
    await expect(page.locator('#timeline > li[data-status="completed"]')).toHaveCount(1);
    // Every note in the page's language, no raw time stamp, and no reviewer named to the customer.
    const notes = await page.locator("#timeline .note").allInnerTexts();
    expect(notes.length).toBeGreaterThan(4);
    for (const note of notes) expect(note).not.toMatch(RFC3339);
    for (const note of await page.locator("#timeline .note").all()) await expectLanguage(note, lang);
    expect(await page.locator("main").innerText()).not.toContain("rev-console");
    if (lang === "zh") await page.screenshot({ path: shot("request"), fullPage: true });
    await page.getByRole("link", { name: w.myWebsites }).click();
    await expect(row(page, site2.domain)).toContainText("198.51.100.77");
    await expect(row(page, site0.domain)).toHaveCount(0);
    await expect(row(page, site1.domain)).toHaveCount(0);

    // Readable at 375 px: nothing wider than the screen.
    await page.setViewportSize({ width: 375, height: 740 });
    await page.reload();
    await expect(row(page, site2.domain)).toBeVisible();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    if (lang === "zh") await page.screenshot({ path: shot("websites-375"), fullPage: true });

    expect(customerErrors).toEqual([]);
    expect(reviewerErrors).toEqual([]);
    await customerContext.close();
    await reviewerContext.close();
  });
}

test("a locked entity, an ended session, signing out and password retrieval show on the page", async ({ page, request }) => {
  const customer = fixture.customers[2];
  const errors = watchConsole(page, new Set([400, 423]));
  // Five wrong passwords in a row, through the API: the entity is locked.
  for (let i = 0; i < 5; i++) {
    const key = `lock-${Date.now()}-${i}`;
    const submitted = await request.fetch(`${fixture.apiUrl}/requests`, { method: "POST",
      headers: { authorization: `Bearer ${customer.token}`, "idempotency-key": key },
      data: { type: "website_cancellation", websiteId: customer.websites[0].websiteId, licensePassword: "wrong" } });
    expect(submitted.status()).toBe(202);
    const id = (await submitted.json()).requestId;
    await expect.poll(async () => (await api(request, "GET", `/requests/${id}`, customer.token)).body.status,
      { timeout: 60_000 }).toBe("password_rejected");
    expect((await api(request, "POST", `/requests/${id}/withdraw`, customer.token, {})).status).toBe(200);
  }
  await signIn(page, customer, "zh");
  await expect(page.locator("h1")).toHaveText("我的网站");
  // A session that ends leads back to the login page, and then to the page asked for.
  await page.goto(`${fixture.consoleUrl}#/requests`);
  await expect(page.locator("h1")).toHaveText("我的申请");
  await page.evaluate(() => {
    const [header, payload, signature] = sessionStorage.getItem("icp.token").split(".");
    const claims = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/")));
    claims.exp = Math.floor(Date.now() / 1000) - 60;
    const expired = btoa(JSON.stringify(claims)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    sessionStorage.setItem("icp.token", [header, expired, signature].join("."));
  });
  // The provider's session has ended as well (its cookies are the only ones on this page).
  await page.context().clearCookies();
  await page.reload();
  await logIn(page, customer, "zh");
  await expect(page).toHaveURL(/#\/requests$/);
  await expect(page.locator("h1")).toHaveText("我的申请");
  await openRequestForm(page, WORDS.zh, customer.websites[1].domain, "access_cancellation");
  await page.getByRole("button", { name: "确定", exact: true }).click();
  await page.getByLabel(/备案密码/).fill(customer.licensePassword);
  await page.getByRole("button", { name: "下一步" }).click();
  await expect(page.getByRole("alert")).toContainText("password_locked");
  // "Forgot it?" leads to the retrieval; a weak new password shows its message.
  await page.getByRole("link", { name: "忘记备案密码？" }).click();
  await page.getByRole("button", { name: "发送验证码" }).click();
  await expect(page.getByRole("status")).toContainText("****");
  await page.getByLabel("验证码").fill("123456");
  await page.getByLabel(/新备案密码/).fill("short");
  await page.getByRole("button", { name: "设置新密码" }).click();
  await expect(page.getByRole("alert")).toContainText("weak_password");
  // Signing out ends the session at the provider too: signing in again asks for the password.
  await page.getByRole("button", { name: "退出" }).click();
  await expect(page.locator("h1")).toHaveText("登录");
  await page.getByRole("button", { name: "登录", exact: true }).click();
  await expect(page.getByRole("heading", { name: LOGIN.zh.title })).toBeVisible();
  expect(errors).toEqual([]);
});
