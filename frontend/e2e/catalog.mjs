// The ATT&CK catalog in the browser: an admin uploads a STIX bundle (a file
// Aegis cannot read is refused in words), a role change asks first and the
// audit panel follows changes without a reload, and a technique page shows
// ATT&CK's Markdown rendered, with numbered references instead of raw
// `<code>` tags and `(Citation: …)` markers. Called by run.mjs with an
// admin signed in.
import { join } from "node:path";

const shared = process.env.AEGIS_SHARED_DATA ?? join(import.meta.dirname, "../../../shared/data");

export async function catalogChecks({ page, base, shot }) {
  const fail = (message) => {
    throw new Error(`catalog: ${message}`);
  };
  await page.goto(`${base}/admin`);
  const card = page.getByRole("form", { name: "Upload a STIX bundle" });
  const runs = page.getByRole("list", { name: "Sync runs" });
  const audit = page.locator("li", { hasText: "user.update" });

  // A file that is no bundle: 422, said in words, and no run starts.
  await card.getByLabel("STIX bundle").setInputFiles({ name: "notes.json", mimeType: "application/json", buffer: Buffer.from('{"type": "report"}') });
  await card.getByRole("button", { name: "Upload bundle" }).click();
  await page.getByText("this is not an ATT&CK STIX 2.1 bundle Aegis can read: not a STIX bundle").waitFor();

  // A real bundle (ATT&CK for ICS 18.1, the smallest full domain) syncs through the dashboard.
  await card.getByLabel("STIX bundle").setInputFiles(join(shared, "attack/ics-attack-18.1.json"));
  await card.getByRole("button", { name: "Upload bundle" }).click();
  const run = runs.getByRole("listitem").filter({ hasText: "upload: ics-attack-18.1.json" }).first();
  await run.waitFor();
  await run.filter({ hasText: "succeeded" }).waitFor({ timeout: 120_000 });
  if (!/ics-attack 18\.1 · \d+ added/.test(await run.textContent())) fail(`the run says what it did: ${await run.textContent()}`);
  await page.locator("li", { hasText: "mitre.upload" }).first().waitFor();
  await shot("16-catalog-upload");

  // A role change asks first; declined, nothing changes.
  const role = page.getByLabel("Role of blue-e2e");
  const updates = await audit.count();
  page.once("dialog", (dialog) => dialog.dismiss());
  await role.selectOption("lead");
  if ((await role.inputValue()) !== "blue_tech") fail("a declined role change leaves the role");
  page.once("dialog", (dialog) => dialog.accept());
  await role.selectOption("lead");
  // Saved, and the audit panel shows it without a reload.
  await audit.nth(updates).waitFor();
  if ((await role.inputValue()) !== "lead") fail("a confirmed role change is saved");
  page.once("dialog", (dialog) => dialog.accept());
  await role.selectOption("blue_tech");
  await audit.nth(updates + 1).waitFor();

  // A technique page: rendered Markdown, numbered references with their URLs, templates.
  await page.goto(`${base}/techniques/T1003.001`);
  await page.getByRole("heading", { level: 1, name: /T1003\.001/ }).waitFor();
  const main = page.locator("main");
  // The description renders with the technique; wait for it rather than race it.
  await main
    .locator("code", { hasText: "procdump" })
    .first()
    .waitFor()
    .catch(() => fail("code renders as code"));
  const text = await main.innerText();
  for (const raw of ["<code>", "</code>", "(Citation:"]) if (text.includes(raw)) fail(`the page shows raw ${raw}`);
  const references = page.getByRole("list", { name: "References" }).getByRole("listitem");
  if ((await references.count()) < 3) fail("the cited sources are listed");
  const first = await references.first().locator("a").getAttribute("href");
  if (!first?.startsWith("http")) fail(`a reference links its source: ${first}`);
  const citation = main.locator('sup a[href="#ref-1"]').first();
  await citation.click();
  if (!page.url().endsWith("#ref-1")) fail("a citation leads to its reference");
  await page.getByRole("heading", { name: "Templates", exact: true }).waitFor();
  await shot("17-technique-rendered");
}
