// Browser checks for campaigns and templates (issue 16, items 3, 6 and 10):
// campaign edit and delete, template edit (with a concurrent save) and
// delete, an Atomic Red Team import of several real files with each file's
// progress, and tests made from two templates at once into a campaign.
// Called by run.mjs with an administrator signed in.
import { join } from "node:path";

const data = process.env.AEGIS_SHARED_DATA ?? join(import.meta.dirname, "../../../shared/data");
const atomic = (technique) => join(data, "atomic-red-team", technique, `${technique}.yaml`);

export async function campaignsAndTemplates({ page, base, shot, expect, step }) {
  step("a campaign's name and dates are edited");
  await page.goto(`${base}/campaigns`);
  await page.getByLabel("Name", { exact: true }).fill("E2E spring");
  await page.getByRole("button", { name: "Create", exact: true }).click();
  await page.getByRole("heading", { name: "E2E spring" }).waitFor();
  await page.getByRole("button", { name: "Edit", exact: true }).click();
  const campaignForm = page.getByRole("form", { name: "Edit campaign" });
  await campaignForm.getByLabel("Name", { exact: true }).fill("E2E spring purple week");
  await campaignForm.getByLabel("Threat actor").fill("FIN7");
  await campaignForm.getByLabel("Starts on").fill("2026-04-01");
  await campaignForm.getByLabel("Ends on").fill("2026-04-10");
  await campaignForm.getByRole("button", { name: "Save campaign" }).click();
  await page.getByRole("heading", { name: "E2E spring purple week" }).waitFor();
  await page.getByTestId("campaign-dates").filter({ hasText: "2026-04-01 → 2026-04-10" }).waitFor();
  const campaignUrl = page.url();
  await shot("16-campaign-edited");

  step("several Atomic files are imported at once, each with its progress");
  await page.goto(`${base}/templates`);
  const files = ["T1003", "T1059.001", "T1078.001"];
  await page.getByLabel("Atomic files").setInputFiles(files.map(atomic));
  await page.getByText("3 of 3 files imported").waitFor();
  const lines = page.getByRole("list", { name: "Import progress" }).getByRole("listitem");
  expect((await lines.count()) === 3, "one progress line per file");
  for (const [i, technique] of files.entries()) {
    const line = lines.nth(i);
    expect((await line.getAttribute("data-state")) === "done", `${technique} imported`);
    expect(/\d+ templates? created/.test(await line.innerText()), `${technique} reports its counts`);
  }
  await page.getByText(/^3 files: \d+ templates created, 0 updated, 0 unchanged$/).waitFor();
  await shot("17-atomic-import");

  step("two templates become two tests in the campaign at once");
  await page.reload();
  const rows = page.getByRole("checkbox", { name: /^Select (?!every)/ });
  const names = [];
  for (const i of [0, 1]) {
    await rows.nth(i).check();
    names.push((await rows.nth(i).getAttribute("aria-label")).replace(/^Select /, ""));
  }
  const bulk = page.getByRole("form", { name: "Tests from templates" });
  await bulk.getByLabel("Campaign").selectOption({ label: "E2E spring purple week" });
  await bulk.getByLabel("Tags").fill("e2e-bulk");
  await bulk.getByRole("button", { name: "Create 2 tests" }).click();
  await bulk.getByRole("status").filter({ hasText: "2 tests created." }).waitFor();
  await shot("18-tests-from-templates");
  await page.goto(campaignUrl);
  for (const name of names) await page.getByRole("link", { name, exact: true }).first().waitFor();
  expect(await page.getByRole("button", { name: "Delete campaign" }).isDisabled(), "a campaign with tests cannot be deleted");
  await page.getByText(/Cannot be deleted: It has 2 tests/).waitFor();

  step("an empty campaign is deleted after the confirmation");
  await page.goto(`${base}/campaigns`);
  await page.getByLabel("Name", { exact: true }).fill("E2E to delete");
  await page.getByRole("button", { name: "Create", exact: true }).click();
  await page.getByRole("heading", { name: "E2E to delete" }).waitFor();
  await page.getByRole("button", { name: "Delete campaign" }).click();
  const ask = page.getByRole("alertdialog", { name: "Delete campaign" });
  await ask.getByText("It has no tests").waitFor();
  await shot("19-campaign-delete-confirm");
  await ask.getByRole("button", { name: "Delete it" }).click();
  await page.waitForURL(/\/campaigns$/, { waitUntil: "commit" });
  await page.getByRole("link", { name: "E2E spring purple week" }).waitFor();
  expect(!(await page.getByRole("link", { name: "E2E to delete" }).count()), "the deleted campaign is gone");

  step("a template is edited, across a concurrent save");
  await page.goto(`${base}/templates`);
  const write = page.getByRole("form", { name: "New template" });
  await write.getByLabel("Name", { exact: true }).fill("E2E whoami");
  await write.getByLabel("ATT&CK technique").fill("T1059.001");
  await write.getByLabel("Command").fill("whoami #{flag}");
  await write.getByRole("button", { name: "Create template" }).click();
  await page.getByRole("heading", { name: "E2E whoami" }).waitFor();
  const templateId = page.url().split("/").pop();
  await page.getByRole("button", { name: "Edit", exact: true }).click();
  const editor = page.getByRole("form", { name: "Edit template" });
  await editor.getByLabel("Name", { exact: true }).fill("E2E whoami /all");
  await editor.getByLabel("Default of flag").fill("/all");
  // Someone else saves the description meanwhile.
  const csrf = (await page.context().cookies()).find((c) => c.name === "aegis_csrf")?.value ?? "";
  const other = await page.request.patch(`${base}/api/v1/templates/${templateId}`, {
    headers: { "If-Match": '"1"', "X-CSRF-Token": decodeURIComponent(csrf) },
    data: { description: "Saved in another tab" },
  });
  expect(other.status() === 200, `the concurrent save lands (${other.status()})`);
  await editor.getByRole("button", { name: "Save template" }).click();
  await editor.getByText("They changed: description.").waitFor();
  expect((await editor.getByLabel("Name", { exact: true }).inputValue()) === "E2E whoami /all", "the typed name is kept");
  await shot("20-template-conflict");
  await editor.getByRole("button", { name: "Keep my edits on their version" }).click();
  await page.getByRole("heading", { name: "E2E whoami /all" }).waitFor();
  await page.getByText("version 3").waitFor();
  await page.getByText("Saved in another tab").waitFor();
  await page.getByText("/all", { exact: true }).waitFor();

  step("a template is deleted after the confirmation");
  await page.getByRole("button", { name: "Delete template" }).click();
  const confirmDelete = page.getByRole("alertdialog", { name: "Delete template" });
  await confirmDelete.getByText("Tests already made from it stay").waitFor();
  await confirmDelete.getByRole("button", { name: "Delete it" }).click();
  await page.waitForURL(/\/templates$/, { waitUntil: "commit" });
  const gone = await page.request.get(`${base}/api/v1/templates/${templateId}`);
  expect(gone.status() === 404, "the template is gone");
}
