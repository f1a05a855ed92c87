// Drives a running portal in headless Chromium (Debian's /usr/bin/chromium through
// playwright-core, no browser download) for portal/tests/portal/browser.rs, one step per run:
//
//   node walk.mjs signup  <base-url> <screens-dir> <email> <password> <organisation>
//   node walk.mjs onboard <base-url> <screens-dir> <email> <password> <confirm-link>
//
// `signup` fills the signup form and expects the "Check your email" page. `onboard` opens the
// emailed link, confirms, signs in through /login, creates a pool and a site through the
// forms (one invalid site first: its error must sit next to the hosts field) and checks the
// sites list. Each page is saved as a PNG in <screens-dir>; each saved file is printed as
// `screenshot <path>`, and the last line is `ok <step>`. Any failed expectation, page error
// or failed request exits 1 after saving `failed-<step>.png` and printing the page's text.

import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const CHROMIUM = "/usr/bin/chromium";
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

const [step, base, dir, email, password, last] = process.argv.slice(2);
if (!["signup", "onboard"].includes(step) || !base || !dir || !email || !password || !last) {
  console.error("usage: walk.mjs signup|onboard <base-url> <screens-dir> <email> <password> <organisation|link>");
  process.exit(2);
}
mkdirSync(dir, { recursive: true });

function expect(cond, what) {
  if (!cond) throw new Error(`expected ${what}`);
}

async function shot(page, name, fullPage = true) {
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path, fullPage });
  console.log(`screenshot ${path}`);
}

/// The page's first <h1> text, trimmed.
async function heading(page) {
  return (await page.locator("h1").first().innerText()).trim();
}

/// Clicks the submit button named `label` and waits for the page it leads to.
async function submit(page, label) {
  await Promise.all([
    page.waitForEvent("load"),
    page.getByRole("button", { name: label, exact: true }).click(),
  ]);
}

async function signup(page) {
  await page.goto(`${base}/signup`);
  expect((await heading(page)) === "Create your account", "the signup page");
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="password"]', password);
  await page.fill('input[name="organisation"]', last);
  await shot(page, "01-signup");
  await submit(page, "Create account");
  expect((await heading(page)) === "Check your email", `"Check your email", got "${await heading(page)}"`);
  const lead = await page.locator("p.lead").innerText();
  expect(lead.includes(email), `the page names ${email}: ${lead}`);
  await shot(page, "02-check-email");
}

async function onboard(page) {
  // The emailed link: one click confirms.
  await page.goto(last);
  expect((await heading(page)) === "Confirm your email", "the confirm page");
  await shot(page, "03-confirm");
  await submit(page, "Confirm my email");
  expect((await heading(page)) === "Email confirmed", `"Email confirmed", got "${await heading(page)}"`);

  // Sign in through the form; the portal sends us to the tenant's dashboard.
  await page.goto(`${base}/login`);
  expect((await heading(page)) === "Sign in to Weir", "the login page");
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="password"]', password);
  await submit(page, "Sign in");
  await page.waitForURL(/\/t\/[^/]+$/);
  const dashboard = page.url();
  const tenantBase = dashboard;
  expect((await page.locator("#stat-sites").innerText()).trim() === "0", "no sites yet");
  expect(await page.locator(".getting-started").isVisible(), "the getting-started card");
  await shot(page, "04-dashboard");
  await page.setViewportSize(PHONE);
  await page.reload();
  await shot(page, "05-dashboard-phone", false);
  await page.setViewportSize(DESKTOP);
  await page.reload();

  // A pool with one backend, reached from the dashboard's button.
  await Promise.all([page.waitForEvent("load"), page.locator("a.button", { hasText: "New pool" }).click()]);
  expect(page.url() === `${tenantBase}/pools/new`, `the pool form, at ${page.url()}`);
  expect(await page.getByRole("button", { name: "Add a backend" }).isVisible(), "app.js revealed the add-row button");
  await page.fill("#id", "web");
  await page.fill('input[name="backend[0].addr"]', "127.0.0.1:9001");
  await page.fill('input[name="backend[0].weight"]', "1");
  await page.fill("#health_path", "/healthz");
  await shot(page, "06-pool-form");
  await submit(page, "Create pool");
  expect(page.url() === `${tenantBase}/pools`, `the pools list, at ${page.url()}`);
  expect((await page.content()).includes("Pool web created"), "the flash");
  expect((await page.locator("body").innerText()).includes("127.0.0.1:9001"), "the backend listed");

  // A site: first with a bad hostname, whose error shows right under the hosts field.
  await page.goto(`${tenantBase}/sites`);
  await Promise.all([page.waitForEvent("load"), page.locator("#new-site").click()]);
  expect(page.url() === `${tenantBase}/sites/new`, `the site form, at ${page.url()}`);
  await page.fill("#id", "shop");
  await page.fill('textarea[name="hosts"]', "Bad Host");
  await page.selectOption('select[name="pool"]', "web");
  await page.fill('input[name="plugin[0].name"]', "waf");
  await page.selectOption('select[name="plugin[0].source"]', "builtin:waf");
  await page.fill('textarea[name="plugin[0].config"]', "{}");
  await submit(page, "Create site");
  expect(page.url() === `${tenantBase}/sites/new`, "still on the form");
  const hosts = page.locator('textarea[name="hosts"]');
  const error = page.locator("#hosts-error");
  expect(await error.isVisible(), "a visible #hosts-error");
  const errorText = await error.innerText();
  expect(errorText.includes("Bad Host") && errorText.includes("is not a lowercase hostname"), `the hosts error, got "${errorText}"`);
  expect((await hosts.getAttribute("aria-describedby")) === "hosts-error", "the field points at its error");
  expect((await hosts.inputValue()) === "Bad Host", "the typed hosts kept");
  expect(
    await page.evaluate(() => {
      const e = document.getElementById("hosts-error");
      const t = document.querySelector('textarea[name="hosts"]');
      return e.previousElementSibling === t && e.closest(".field").classList.contains("has-error");
    }),
    "the error is the element right after the hosts textarea, in its field",
  );
  const [tb, eb] = [await hosts.boundingBox(), await error.boundingBox()];
  expect(eb.y >= tb.y + tb.height - 1 && eb.y - (tb.y + tb.height) < 40 && Math.abs(eb.x - tb.x) < 40,
    `the error is drawn just under the field: field ${JSON.stringify(tb)}, error ${JSON.stringify(eb)}`);
  expect(await page.locator("#form-errors").isVisible(), "the summary at the top");
  expect((await page.locator('select[name="plugin[0].source"]').inputValue()) === "builtin:waf", "the plugin choice kept");
  await hosts.scrollIntoViewIfNeeded();
  await shot(page, "07-site-form-error");

  // Fixed, it is saved and listed.
  await page.fill('textarea[name="hosts"]', "shop.example");
  await submit(page, "Create site");
  expect(page.url() === `${tenantBase}/sites`, `the sites list, at ${page.url()}`);
  const row = page.locator("#sites tbody tr", { hasText: "shop.example" });
  expect((await row.count()) === 1, "one row for shop.example");
  const cells = (await row.locator("td").allInnerTexts()).map((t) => t.trim());
  expect(cells[0] === "shop" && cells[1] === "shop.example" && cells[2] === "web" && cells[3] === "waf",
    `the row shop | shop.example | web | waf, got ${JSON.stringify(cells)}`);
  expect((await page.content()).includes("Site shop created"), "the flash");
  await shot(page, "08-sites");

  // The site's dashboard: numbers from the server, charts drawn by its script, live.
  await row.locator("a", { hasText: "Dashboard" }).click();
  expect(page.url() === `${tenantBase}/sites/shop/dashboard`, `the dashboard, at ${page.url()}`);
  await page.locator("#site-dashboard svg").first().waitFor();
  await page.locator("#live-state").waitFor({ state: "visible" });
  await shot(page, "09-dashboard");
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
const context = await browser.newContext({ viewport: DESKTOP });
const page = await context.newPage();
page.setDefaultTimeout(15000);
const problems = [];
page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
// Expected console errors: the invalid site's page answers 422 on purpose.
function expectedError(m) {
  const status = /^Failed to load resource: the server responded with a status of (\d+)/.exec(m.text());
  const url = m.location().url;
  return status && status[1] === "422" && url.endsWith("/sites/new");
}
page.on("console", (m) => m.type() === "error" && !expectedError(m) && problems.push(`console error: ${m.text()} (${m.location().url})`));
page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
let code = 0;
try {
  await (step === "signup" ? signup(page) : onboard(page));
  expect(problems.length === 0, `no browser errors:\n${problems.join("\n")}`);
  console.log(`ok ${step}`);
} catch (e) {
  code = 1;
  console.error(`FAILED ${step} at ${page.url()}: ${e.stack || e}`);
  if (problems.length) console.error(problems.join("\n"));
  try {
    await shot(page, `failed-${step}`);
    console.error(`page text:\n${await page.locator("body").innerText()}`);
  } catch (e2) {
    console.error(`(no failure screenshot: ${e2})`);
  }
} finally {
  await browser.close();
}
process.exit(code);
