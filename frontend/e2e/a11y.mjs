// Accessibility and small-screen check of every page of the dashboard, run by
// run.mjs once the workflow has left data behind. Each route of the router is
// opened at 1440×900 and 390×844, in the light and the dark theme; axe-core
// (injected from its npm package) must find no serious or critical
// violation, and at 390 px the page must not scroll sideways. On a narrow
// screen the navigation is a menu button, checked here for keyboard use.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const routerSource = readFileSync(join(import.meta.dirname, "../src/main.tsx"), "utf8");

const VIEWPORTS = [
  { name: "1440", width: 1440, height: 900 },
  { name: "390", width: 390, height: 844 },
];
const THEMES = ["light", "dark"];
const BLOCKING = new Set(["serious", "critical"]);
const MENU_BUTTON = "header button[aria-controls][aria-expanded]";

/** The router's paths, read from its source so that a new route cannot be missed here. */
function routerPaths() {
  const paths = [...routerSource.matchAll(/\bpath:\s*"([^"]+)"/g)].map((m) => m[1]);
  if (paths.length < 5) throw new Error("a11y: could not read the routes from src/main.tsx");
  return paths;
}

async function items(request, base, path) {
  const response = await request.get(`${base}${path}`);
  if (!response.ok()) throw new Error(`a11y: GET ${path} answered ${response.status()}`);
  const body = await response.json();
  return Array.isArray(body) ? body : body.items;
}

/** The first record of a list, created through the API when there is none yet. */
async function firstOrCreated(request, base, path, body, csrf) {
  const [existing] = await items(request, base, `${path}?limit=1`);
  if (existing) return existing.id;
  const response = await request.post(`${base}${path}`, { data: body, headers: { "X-CSRF-Token": csrf } });
  if (!response.ok()) throw new Error(`a11y: POST ${path} answered ${response.status()}: ${await response.text()}`);
  return (await response.json()).id;
}

/** A concrete URL for every router path; detail pages get a real record. */
async function resolveRoutes(browser, base, storageState) {
  const context = await browser.newContext({ storageState });
  try {
    const request = context.request;
    const csrf = storageState.cookies.find((c) => c.name === "aegis_csrf")?.value ?? "";
    const [test] = await items(request, base, "/api/v1/tests?limit=1");
    if (!test) throw new Error("a11y: the workflow left no test to open");
    const campaign = await firstOrCreated(request, base, "/api/v1/campaigns", {
      name: "Quarterly credential-access exercise",
      description: "Replays the credential dumping procedures seen in last quarter's incident against the finance servers.",
      threat_actor: "FIN7",
    }, csrf);
    const template = await firstOrCreated(request, base, "/api/v1/templates", {
      name: "Dump LSASS memory with comsvcs.dll",
      technique_id: "T1003.001",
      platforms: ["windows"],
      executor: "powershell",
      command: "rundll32.exe C:\\Windows\\System32\\comsvcs.dll, MiniDump (Get-Process lsass).id C:\\Windows\\Temp\\lsass-memory-dump-for-purple-team-exercise.dmp full",
      cleanup_command: "Remove-Item C:\\Windows\\Temp\\lsass-memory-dump-for-purple-team-exercise.dmp -ErrorAction Ignore",
      elevation_required: true,
    }, csrf);
    const concrete = {
      "/tests/:id": `/tests/${test.id}`,
      "/campaigns/:id": `/campaigns/${campaign}`,
      "/techniques/:id": ["/techniques/T1003", "/techniques/T1003.001"],
      "/templates/:id": `/templates/${template}`,
      "*": "/no-such-page",
    };
    return routerPaths().flatMap((path) => {
      const urls = [concrete[path] ?? path].flat();
      if (urls.some((url) => url.includes(":"))) throw new Error(`a11y: route ${path} has no example URL; add one to a11y.mjs`);
      return urls.map((url) => ({ path, url }));
    });
  } finally {
    await context.close();
  }
}

/** Waits until the page has drawn its data: its main region, no request in flight, no loading line. */
async function settle(page) {
  await page.locator("main").first().waitFor();
  await page.waitForLoadState("networkidle");
  await page.waitForFunction(() => !document.querySelector("[aria-live].animate-pulse"), null, { timeout: 5_000 }).catch(() => {});
}

async function axeViolations(page) {
  // Evaluated through the debugging protocol, so the page's CSP stays as shipped.
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(axeSource);
  const results = await page.evaluate(() =>
    window.axe.run(document, { resultTypes: ["violations"] }),
  );
  return results.violations
    .filter((v) => BLOCKING.has(v.impact))
    .map((v) => ({
      rule: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => `${n.target.join(" ")}${n.any[0]?.message ? ` (${n.any[0].message})` : ""}`),
    }));
}

/** When the page scrolls sideways: how far, and the element reaching furthest right. */
async function horizontalOverflow(page) {
  return page.evaluate(() => {
    const root = document.scrollingElement;
    if (root.scrollWidth <= root.clientWidth) return null;
    // Content inside a box that scrolls or clips on its own does not widen the page.
    const clipped = new Map();
    const insideClip = (element) => {
      if (!element || element === document.body) return false;
      if (!clipped.has(element)) {
        const parent = element.parentElement;
        clipped.set(element, (parent !== document.body && parent && getComputedStyle(parent).overflowX !== "visible") || insideClip(parent));
      }
      return clipped.get(element);
    };
    let widest = null;
    let right = 0;
    for (const element of document.body.querySelectorAll("*")) {
      const box = element.getBoundingClientRect();
      if (box.width > 0 && box.right > right + 0.5 && !insideClip(element)) {
        right = box.right;
        widest = element;
      }
    }
    const classes = widest?.getAttribute("class")?.split(/\s+/).slice(0, 6).join(".") ?? "";
    const text = (widest?.textContent ?? "").trim().replace(/\s+/g, " ").slice(0, 60);
    return {
      scrollWidth: root.scrollWidth,
      clientWidth: root.clientWidth,
      widest: widest ? `<${widest.tagName.toLowerCase()}${widest.id ? `#${widest.id}` : ""}${classes ? `.${classes}` : ""}> ${Math.round(right)} px "${text}"` : "?",
    };
  });
}

/**
 * The narrow-screen menu: a button that says whether it is open, opens the
 * links with focus on the first, Escape closes it back to the button, and
 * following a link closes it.
 */
async function checkMenu(page, screenshotPath) {
  const problems = [];
  const button = page.locator(MENU_BUTTON).first();
  if (!(await button.isVisible())) return ["no visible menu button (button with aria-controls and aria-expanded)"];
  const menuId = await button.getAttribute("aria-controls");
  const menu = page.locator(`[id="${menuId}"]`);
  if ((await button.getAttribute("aria-expanded")) !== "false") problems.push("the menu starts open");
  if (await menu.isVisible()) problems.push("the menu's links show before it is opened");
  await button.click();
  if ((await button.getAttribute("aria-expanded")) !== "true") problems.push("aria-expanded is not true once opened");
  const tests = menu.getByRole("link", { name: "Tests", exact: true });
  if (!(await tests.isVisible())) problems.push("the opened menu does not show the Tests link");
  if (!(await menu.evaluate((el) => el.contains(document.activeElement)))) problems.push("opening the menu does not move focus into it");
  await page.screenshot({ path: screenshotPath });
  await page.keyboard.press("Escape");
  if ((await button.getAttribute("aria-expanded")) !== "false") problems.push("Escape does not close the menu");
  if (!(await button.evaluate((el) => el === document.activeElement))) problems.push("focus does not return to the menu button after Escape");
  await button.click();
  await tests.click();
  await page.waitForURL(/\/tests$/);
  const closed = await button.evaluate((el) => new Promise((resolve) => {
    const check = () => el.getAttribute("aria-expanded") === "false";
    if (check()) return resolve(true);
    new MutationObserver(() => check() && resolve(true)).observe(el, { attributes: true });
    setTimeout(() => resolve(check()), 2_000);
  }));
  if (!closed) problems.push("following a link leaves the menu open");
  return problems;
}

/**
 * Opens every route in both themes at both sizes and throws with the list of
 * every serious or critical axe violation and every sideways-scrolling page.
 * `storageState` is a signed-in admin's; the login page is opened signed out.
 */
export async function checkAccessibility({ browser, base, storageState, artifacts }) {
  const routes = await resolveRoutes(browser, base, storageState);
  const failures = [];
  let pages = 0;
  for (const theme of THEMES) {
    for (const viewport of VIEWPORTS) {
      const narrow = viewport.width <= 390;
      for (const signedIn of [false, true]) {
        const context = await browser.newContext({
          viewport: { width: viewport.width, height: viewport.height },
          colorScheme: theme,
          storageState: signedIn ? storageState : undefined,
        });
        await context.addInitScript((choice) => localStorage.setItem("aegis-theme", choice), theme);
        const page = await context.newPage();
        page.setDefaultTimeout(15_000);
        try {
          for (const { path, url } of routes.filter((r) => (r.path === "/login") !== signedIn)) {
            const where = `${url} at ${viewport.name} px, ${theme}`;
            try {
              await page.goto(`${base}${url}`);
              await settle(page);
              pages += 1;
              const dark = await page.evaluate(() => document.documentElement.classList.contains("dark"));
              if (dark !== (theme === "dark")) failures.push(`${where}: the page did not take the ${theme} theme`);
              for (const v of await axeViolations(page)) {
                failures.push(`${where}: axe ${v.impact} ${v.rule} — ${v.help}\n      ${v.nodes.slice(0, 8).join("\n      ")}${v.nodes.length > 8 ? `\n      … and ${v.nodes.length - 8} more` : ""}`);
              }
              if (narrow) {
                const overflow = await horizontalOverflow(page);
                if (overflow) failures.push(`${where}: scrolls sideways (${overflow.scrollWidth} px content in ${overflow.clientWidth} px); widest: ${overflow.widest}`);
                const slug = url === "/" ? "-dashboard" : url.replace(/[^a-z0-9]+/gi, "-").replace(/-[0-9a-f-]{36}$/, "-detail");
                const name = `a11y-${theme}-${viewport.name}${slug}`;
                await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
              }
            } catch (error) {
              failures.push(`${where}: ${error.message.split("\n")[0]}`);
            }
          }
          if (signedIn && narrow) {
            await page.goto(`${base}/`);
            await settle(page);
            for (const problem of await checkMenu(page, join(artifacts, `a11y-${theme}-${viewport.name}-menu-open.png`))) failures.push(`menu at ${viewport.name} px, ${theme}: ${problem}`);
          }
          if (signedIn && !narrow) {
            const visible = await page.locator(MENU_BUTTON).first().isVisible().catch(() => false);
            if (visible) failures.push(`menu at ${viewport.name} px, ${theme}: the menu button shows on a wide screen`);
          }
        } finally {
          await context.close();
        }
      }
    }
  }
  if (failures.length) {
    throw new Error(`accessibility: ${failures.length} problem(s) on ${pages} page views:\n  ${failures.join("\n  ")}`);
  }
  console.log(`a11y passed: ${pages} page views (${routes.length} URLs for ${new Set(routes.map((r) => r.path)).size} routes × 2 sizes × 2 themes), no serious or critical axe violation, no sideways scroll at 390 px`);
}
