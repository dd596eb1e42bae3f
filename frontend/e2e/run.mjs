// End-to-end: Debian's Chromium driven by playwright-core against a real
// `aegis serve` on SQLite (started by scripts/e2e.sh). The whole purple-team
// loop through the dashboard, with a screenshot of every page.
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { checkAccessibility } from "./a11y.mjs";
import { catalogChecks } from "./catalog.mjs";
import { checkCoverage } from "./coverage.mjs";
import { runTestWork } from "./tests.mjs";
import { campaignsAndTemplates } from "./campaigns.mjs";
import { inboxChecks } from "./inbox.mjs";

const base = process.env.AEGIS_URL ?? "http://127.0.0.1:8000";
const adminPassword = process.env.AEGIS_ADMIN_PASSWORD;
const artifacts = process.env.E2E_ARTIFACTS ?? join(import.meta.dirname, "artifacts");
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const plugins = process.env.AEGIS_PLUGIN_BUILD_DIR;
if (!plugins) throw new Error("AEGIS_PLUGIN_BUILD_DIR: the folder scripts/build-plugins.sh prints");
mkdirSync(artifacts, { recursive: true });

const browser = await chromium.launch({ executablePath, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
const page = await context.newPage();
page.setDefaultTimeout(15_000);
let step = "start";
const shot = (name) => page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
const expect = (condition, message) => {
  if (!condition) throw new Error(`${step}: ${message}`);
};

async function signIn(username, password) {
  if (!new URL(page.url()).pathname.startsWith("/login")) {
    await page.goto(`${base}/`);
    await page.waitForURL(/\/login/);
  }
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((url) => !url.pathname.startsWith("/login"), { waitUntil: "commit" });
}

async function signOut() {
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(/\/login/, { waitUntil: "commit" });
}

try {
  step = "login page";
  await page.goto(`${base}/tests`);
  await page.waitForURL(/\/login\?next=/);
  await shot("01-login");

  step = "admin creates the team";
  await signIn("admin", adminPassword);
  expect(new URL(page.url()).pathname === "/tests", `back to where the user was going, not ${page.url()}`);
  await page.getByRole("link", { name: "Admin", exact: true }).click();
  for (const [username, role] of [["red-e2e", "red_tech"], ["blue-e2e", "blue_tech"]]) {
    const form = page.getByRole("form", { name: "New user" });
    await form.getByLabel("Username").fill(username);
    await form.getByLabel("Role").selectOption(role);
    await form.getByLabel("Password").fill(`${username}-password`);
    await form.getByRole("button", { name: "Create user" }).click();
    await page.getByRole("cell", { name: username, exact: true }).waitFor();
  }
  await shot("02-admin");
  await signOut();

  step = "red plans and executes a test with evidence";
  await signIn("red-e2e", "red-e2e-password");
  expect(!(await page.getByRole("link", { name: "Admin", exact: true }).count()), "a red tech is not offered the admin page");
  await page.getByRole("link", { name: "Tests" }).click();
  await page.getByRole("link", { name: "New test" }).click();
  await page.getByLabel("Name").fill("Dump LSASS with comsvcs");
  await page.getByLabel("ATT&CK technique").fill("T1003.001");
  await page.getByLabel("Procedure / command").fill("rundll32 comsvcs.dll MiniDump");
  await page.getByRole("button", { name: "Create draft" }).click();
  await page.waitForURL(/\/tests\/[0-9a-f-]{36}$/, { waitUntil: "commit" });
  const testUrl = page.url();
  await page.getByRole("button", { name: "Start execution" }).click();
  await page.getByRole("button", { name: "Submit to blue" }).waitFor();
  const red = page.getByRole("form", { name: "red half" });
  await red.getByLabel("Executed at").fill("2026-11-01T10:00");
  await red.getByLabel("Attack outcome").selectOption("succeeded");
  await red.getByRole("button", { name: "Save red half" }).click();
  await page.getByText("version 3").waitFor();
  await page.getByLabel("Evidence file").setInputFiles({ name: "lsass-run.txt", mimeType: "text/plain", buffer: Buffer.from("procdump output\n".repeat(2000)) });
  await page.getByRole("link", { name: "lsass-run.txt" }).waitFor();
  await shot("03-test-red");
  await page.getByRole("button", { name: "Submit to blue" }).click();
  await page.getByText("Blue evaluating").first().waitFor();
  await signOut();

  step = "blue completes it as detected";
  await signIn("blue-e2e", "blue-e2e-password");
  await page.goto(testUrl);
  const blue = page.getByRole("form", { name: "blue half" });
  await blue.getByLabel("Detection outcome").selectOption("alerted");
  await blue.getByLabel("Detected at").fill("2026-11-01T10:04");
  await blue.getByLabel("Detection source / rule").fill("EDR: LSASS access");
  await blue.getByRole("button", { name: "Save blue half" }).click();
  await page.getByText("version 5").waitFor();
  await page.getByRole("button", { name: "Complete" }).click();
  await page.getByText("Completed").first().waitFor();
  await shot("04-test-completed");

  step = "the dashboard shows the technique as covered";
  await page.getByRole("link", { name: "Dashboard" }).click();
  await page.getByTestId("matrix").waitFor();
  await page.getByRole("button", { name: /sub-techniques of OS Credential Dumping/ }).first().click();
  const cell = page.locator('[data-technique="T1003.001"]').first();
  expect((await cell.getAttribute("data-status")) === "covered", "T1003.001 is covered on the heatmap");
  expect((await page.locator('[data-kpi="Detection rate"]').textContent()) === "100%", "the KPI card shows the detection");
  await shot("05-dashboard");

  step = "a Navigator layer downloads";
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download Navigator layer" }).click()]);
  const layer = JSON.parse(readFileSync(await download.path(), "utf8"));
  const entry = layer.techniques.find((t) => t.techniqueID === "T1003.001");
  expect(layer.versions.layer === "4.5" && entry?.color === "#31a354", "the layer marks T1003.001 covered");

  step = "admin uploads and configures plugins";
  await signOut();
  await signIn("admin", adminPassword);
  await page.getByRole("link", { name: "Plugins" }).click();
  await page.getByLabel("Kind").selectOption("alert_rule");
  await page.getByLabel("Plugin component").setInputFiles(join(plugins, "blue-review-overdue.wasm"));
  const rulePlugin = page.locator('[data-plugin="blue-review-overdue"]');
  await rulePlugin.waitFor();
  const configure = page.getByRole("form", { name: "Configure Blue review overdue" });
  await configure.getByLabel("Hours in blue review before a test is overdue").fill("48");
  await configure.getByRole("button", { name: "Save configuration" }).click();
  await configure.getByText("Saved.").waitFor();
  await rulePlugin.getByRole("button", { name: "Disable" }).click();
  await rulePlugin.getByText("disabled", { exact: true }).waitFor();
  await rulePlugin.getByRole("button", { name: "Enable" }).click();
  await rulePlugin.getByText("enabled", { exact: true }).waitFor();
  await page.getByLabel("Kind").selectOption("report_format");
  await page.getByLabel("Plugin component").setInputFiles(join(plugins, "markdown-report.wasm"));
  await page.locator('[data-plugin="markdown-brief"]').waitFor();
  await shot("12-plugins");

  step = "a rule built from its kind's schema fires, and its alert is acknowledged and resolved";
  await page.getByRole("link", { name: "Alerts" }).click();
  await page.getByRole("link", { name: "Rules" }).click();
  const ruleForm = page.getByRole("form", { name: "New rule" });
  await ruleForm.getByLabel("Name", { exact: true }).fill("Stale techniques");
  await ruleForm.getByLabel(/^Kind/).selectOption({ label: "Technique not re-tested" });
  // The test above ran on 2026-11-01: more than a week ago.
  await ruleForm.getByLabel(/^Days/).fill("7");
  await ruleForm.getByRole("button", { name: "Create rule" }).click();
  await page.getByRole("cell", { name: "Stale techniques" }).waitFor();
  expect(await page.getByRole("option", { name: "Blue review overdue (plugin)" }).count() === 1, "the plugin is offered as a kind");
  await page.getByRole("button", { name: "Evaluate now" }).click();
  await page.getByRole("status").filter({ hasText: "1 new alert" }).waitFor();
  await page.getByRole("button", { name: "Disable" }).click();
  await page.getByText("(disabled)").waitFor();
  await page.getByRole("button", { name: "Enable" }).click();
  await page.getByText("(disabled)").waitFor({ state: "detached" });
  await shot("13-alert-rules");
  await page.getByRole("link", { name: "Inbox" }).click();
  const alert = page.locator('[data-alert="Not re-tested: T1003"]');
  await alert.getByRole("button", { name: "Acknowledge" }).click();
  await page.getByRole("button", { name: "acknowledged" }).click();
  await alert.getByText("acknowledged by admin").waitFor();
  await alert.getByRole("button", { name: "Resolve" }).click();
  await page.getByRole("button", { name: "resolved" }).click();
  await alert.getByText("resolved by admin").waitFor();
  await shot("14-alerts");
  await page.getByRole("link", { name: "Evaluations" }).click();
  await page.getByRole("cell", { name: "Stale techniques" }).waitFor();

  step = "reports are generated with progress and downloaded";
  await page.getByRole("link", { name: "Reports" }).click();
  const reportForm = page.getByRole("form", { name: "New report" });
  await reportForm.getByLabel("Kind").selectOption("executive");
  await reportForm.getByLabel("Format").selectOption("pdf");
  await reportForm.getByRole("button", { name: "Generate" }).click();
  const pdfLink = page.getByRole("link", { name: /Download executive-summary\.pdf/ }).first();
  const [pdf] = await Promise.all([page.waitForEvent("download"), pdfLink.click()]);
  expect(readFileSync(await pdf.path()).subarray(0, 5).toString() === "%PDF-", "the PDF downloads");
  await reportForm.getByLabel("Format").selectOption({ label: "Markdown brief (plugin)" });
  await reportForm.getByLabel("Title (optional)").fill("Plugin brief");
  await reportForm.getByRole("button", { name: "Generate" }).click();
  const [brief] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: /Download plugin-brief\.md/ }).click()]);
  expect(readFileSync(await brief.path(), "utf8").startsWith("# Plugin brief"), "the plugin format renders");
  await shot("15-reports");

  step = "the ATT&CK catalog: bundle upload, role confirmation, audit, technique page";
  await catalogChecks({ page, base, shot });
  await checkCoverage({ page, base, shot });
  await campaignsAndTemplates({ page, base, shot, expect, step: (name) => (step = name) });

  step = "every page renders";
  for (const [path, name] of [["/tests", "06-tests"], ["/techniques", "07-techniques"], ["/techniques/T1003.001", "08-technique"], ["/campaigns", "09-campaigns"], ["/templates", "10-templates"], ["/account", "11-account"]]) {
    await page.goto(`${base}${path}`);
    await page.getByRole("heading", { level: 1 }).waitFor();
    await page.waitForLoadState("networkidle");
    await shot(name);
  }
  await runTestWork({ browser, base, adminPassword, artifacts });
  step = "the inbox tells blue of a test assigned to them";
  await inboxChecks({ page, base, shot, signIn, signOut, adminPassword });
  await checkAccessibility({ browser, base, storageState: await context.storageState(), artifacts });
  console.log(`e2e passed; screenshots in ${artifacts}`);
} catch (error) {
  await shot("failure").catch(() => {});
  console.error(`e2e failed at "${step}": ${error.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
