// End-to-end: daily work on tests in the browser. Assigning red and blue and
// finding the test in each assignee's queue, editing the plan, bulk actions
// with per-test results, a concurrent edit resolved by reapplying, and a
// transition that saves the chosen outcome in the same click.
import { join } from "node:path";

/** Runs the stories on its own users and tests; throws on the first failure. */
export async function runTestWork({ browser, base, adminPassword, artifacts }) {
  let step = "start";
  const contexts = [];
  const expect = (condition, message) => {
    if (!condition) throw new Error(`tests: ${step}: ${message}`);
  };

  /** A signed-in page in a context of its own (its own session cookie). */
  async function signedIn(username, password) {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(`${base}/login`);
    await page.getByLabel("Username").fill(username);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL((url) => !url.pathname.startsWith("/login"), { waitUntil: "commit" });
    return page;
  }

  /** The API as the page's user (setup and checks; the stories use the UI). */
  async function call(page, method, path, body) {
    const csrf = (await page.context().cookies()).find((c) => c.name === "aegis_csrf")?.value ?? "";
    const reply = await page.request.fetch(`${base}${path}`, { method, data: body, headers: { "X-CSRF-Token": csrf } });
    expect(reply.ok(), `${method} ${path}: ${reply.status()} ${await reply.text()}`);
    return reply.json();
  }

  const shot = (page, name) => page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
  let admin;
  try {
    step = "setup";
    admin = await signedIn("admin", adminPassword);
    for (const [username, role] of [["red-queue", "red_tech"], ["blue-queue", "blue_tech"]]) {
      await call(admin, "POST", "/api/v1/users", { username, role, password: `${username}-password` });
    }
    const create = (name) => call(admin, "POST", "/api/v1/tests", { name, technique_id: "T1003.001" });
    const queued = await create("Queue me");

    step = "the admin edits the plan and assigns red and blue";
    await admin.goto(`${base}/tests/${queued.id}`);
    const plan = admin.getByRole("form", { name: "plan" });
    await plan.getByLabel("Name").fill("Queue me: LSASS on ws-7");
    await plan.getByLabel("Target host").fill("ws-7.corp.example");
    await plan.getByLabel("Tags").fill("wave-2, lsass");
    await plan.getByLabel("Red assignee").selectOption({ label: "red-queue" });
    await plan.getByLabel("Blue assignee").selectOption({ label: "blue-queue" });
    await plan.getByRole("button", { name: "Save plan" }).click();
    await admin.getByRole("heading", { name: "Queue me: LSASS on ws-7" }).waitFor();
    await admin.getByText("red: red-queue").waitFor();
    await admin.getByText("blue: blue-queue").waitFor();
    const saved = await call(admin, "GET", `/api/v1/tests/${queued.id}`);
    expect(saved.target_host === "ws-7.corp.example" && saved.tags.join() === "lsass,wave-2", `the plan is saved: ${JSON.stringify(saved)}`);
    await admin.getByText(/Red assignee: none → red-queue/).waitFor();
    await shot(admin, "20-test-plan-edited");

    step = "the red tech finds it in their queue and hands it to blue in one click";
    const red = await signedIn("red-queue", "red-queue-password");
    await red.goto(`${base}/tests`);
    await red.getByRole("button", { name: "My queue" }).click();
    await red.getByRole("heading", { name: "My queue" }).waitFor();
    await red.getByRole("link", { name: "Queue me: LSASS on ws-7" }).click();
    await red.getByRole("button", { name: "Start execution" }).click();
    await red.getByRole("button", { name: "Submit to blue" }).waitFor();
    const half = red.getByRole("form", { name: "red half" });
    await half.getByLabel("Executed at").fill("2026-11-02T09:30");
    await half.getByLabel("Attack outcome").selectOption("succeeded");
    // Not saved: the step saves it first.
    await red.getByText("Your unsaved changes are saved first.").waitFor();
    await red.getByRole("button", { name: "Submit to blue" }).click();
    await red.getByText("Blue evaluating").first().waitFor();

    step = "the blue tech finds it in their queue and completes it in one click";
    const blue = await signedIn("blue-queue", "blue-queue-password");
    await blue.goto(`${base}/tests?waiting_for=me`);
    await blue.getByRole("link", { name: "Queue me: LSASS on ws-7" }).click();
    const complete = blue.getByRole("button", { name: "Complete" });
    expect(await complete.isDisabled(), "Complete waits for an outcome");
    await blue.getByText("Complete needs Detection outcome.").waitFor();
    await blue.getByRole("form", { name: "blue half" }).getByLabel("Detection outcome").selectOption("alerted");
    await complete.click();
    await blue.getByText("Completed").first().waitFor();
    const done = await call(blue, "GET", `/api/v1/tests/${queued.id}`);
    expect(done.state === "completed" && done.detection_outcome === "alerted", `completed with the outcome: ${done.state} ${done.detection_outcome}`);
    await shot(blue, "21-test-completed-in-one-click");

    step = "bulk: three tests assigned, tagged and started, a fourth refused";
    const bulkTests = [];
    for (const name of ["Bulk one", "Bulk two", "Bulk three", "Bulk four"]) bulkTests.push(await create(name));
    await call(admin, "POST", `/api/v1/tests/${bulkTests[3].id}/cancel`, {});
    await admin.goto(`${base}/tests?q=Bulk`);
    for (const name of ["Bulk one", "Bulk two", "Bulk three"]) await admin.getByLabel(`Select ${name}`, { exact: true }).check();
    const bar = admin.getByRole("region", { name: "Bulk actions" });
    await bar.getByText("3 tests selected").waitFor();
    const results = admin.getByRole("status", { name: "Bulk results" });
    const apply = async (expected) => {
      await bar.getByRole("button", { name: /^Apply to/ }).click();
      await results.getByText(expected, { exact: true }).waitFor();
    };
    await bar.getByLabel("Bulk action").selectOption("assign_red");
    await bar.getByLabel("Assignee").selectOption({ label: "red-queue" });
    await apply("3 done");
    await bar.getByLabel("Bulk action").selectOption("add_tags");
    await bar.getByLabel("Tags to change").fill("wave-3");
    await apply("3 done");
    await admin.getByLabel("Select Bulk four", { exact: true }).check();
    await bar.getByText("4 tests selected").waitFor();
    await bar.getByLabel("Bulk action").selectOption("start_execution");
    await apply("3 done, 1 refused");
    const refused = results.locator('[data-bulk-result="refused"]');
    expect((await refused.textContent()).includes("Bulk four"), "the refused test is named");
    expect((await refused.textContent()).includes("cancelled"), "with the reason");
    await shot(admin, "22-tests-bulk");
    for (const t of bulkTests.slice(0, 3)) {
      const now = await call(admin, "GET", `/api/v1/tests/${t.id}`);
      expect(now.state === "red_executing" && now.tags.includes("wave-3") && now.red_assignee_id, `${t.name} assigned, tagged, started`);
    }

    step = "a concurrent edit shows the difference and reapplies the user's text";
    const shared = await create("Edited twice");
    const first = admin;
    await first.goto(`${base}/tests/${shared.id}`);
    await first.getByRole("form", { name: "red half" }).getByLabel("Red notes").fill("my notes, typed first");
    const second = await first.context().newPage();
    await second.goto(`${base}/tests/${shared.id}`);
    await second.getByRole("form", { name: "red half" }).getByLabel("Red notes").fill("their notes");
    await second.getByRole("button", { name: "Save red half" }).click();
    await second.getByText("version 2").waitFor();
    await first.getByRole("button", { name: "Save red half" }).click();
    const conflict = first.getByRole("alert", { name: "Edit conflict" });
    const row = conflict.locator('[data-field="red_notes"]');
    await row.getByText("“their notes”").waitFor();
    await row.getByText("“my notes, typed first”").waitFor();
    await shot(first, "23-test-edit-conflict");
    await conflict.getByRole("button", { name: "Reload and reapply my changes" }).click();
    await conflict.waitFor({ state: "detached" });
    await first.getByText("version 3").waitFor();
    const merged = await call(first, "GET", `/api/v1/tests/${shared.id}`);
    expect(merged.red_notes === "my notes, typed first", `the user's text is saved: ${merged.red_notes}`);
  } catch (error) {
    if (admin) await shot(admin, "tests-failure").catch(() => {});
    throw error instanceof Error && error.message.startsWith("tests:") ? error : new Error(`tests: ${step}: ${error.message}`);
  } finally {
    for (const context of contexts) await context.close();
  }
}
