// The inbox in the browser: the admin assigns a test to blue through the
// API (the dashboard has no assignee field), the derive job tells blue, and
// blue sees the unread badge, finds the notice, follows it to the test and
// marks it and then everything read, then gives and removes an e-mail
// address for notices on the Account page. Called by run.mjs with the admin
// signed in; leaves the admin signed in again.
import { request } from "playwright-core";

export async function inboxChecks({ page, base, shot, signIn, signOut, adminPassword }) {
  const fail = (message) => {
    throw new Error(`inbox: ${message}`);
  };
  const api = await request.newContext({ baseURL: base });
  const token = async (username, password) => {
    const reply = await api.post("/api/v1/auth/login", { data: { username, password } });
    if (!reply.ok()) fail(`${username} signs in: ${reply.status()}`);
    return (await reply.json()).access_token;
  };
  const as = (bearer) => ({ headers: { Authorization: `Bearer ${bearer}` } });
  const admin = await token("admin", adminPassword);
  const blue = await token("blue-e2e", "blue-e2e-password");
  const me = await (await api.get("/api/v1/auth/me", as(blue))).json();
  const name = "File server discovery (e2e)";
  const created = await api.post("/api/v1/tests", {
    ...as(admin),
    data: { name, technique_id: "T1003.001", blue_assignee_id: me.id },
  });
  if (created.status() !== 201) fail(`the admin creates a test for blue: ${created.status()} ${await created.text()}`);
  const test = await created.json();

  // The job runs every second in e2e; wait until it has told blue.
  const title = `Assigned to you: ${name}`;
  const told = async () => {
    const page = await (await api.get("/api/v1/notifications?unread=true", as(blue))).json();
    return page.items.some((n) => n.title === title && n.test_id === test.id);
  };
  for (let i = 0; !(await told()); i++) {
    if (i > 100) fail("the derive job told blue within 20 s");
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await api.dispose();

  await signOut();
  await signIn("blue-e2e", "blue-e2e-password");
  const badge = page.getByRole("link", { name: /^Notifications\W*\d+ unread$/ });
  await badge.waitFor();
  await badge.click();
  await page.getByRole("heading", { level: 1, name: "Notifications" }).waitFor();
  const notice = page.locator(`[data-notice="${title}"]`);
  await notice.waitFor();
  await shot("17-inbox");

  // Marked read, it leaves the unread view and shows as read under All.
  await notice.getByRole("button", { name: `Mark read: ${title}` }).click();
  await notice.waitFor({ state: "detached" });
  await page.getByRole("button", { name: "All", exact: true }).click();
  await notice.getByText(/· read /).waitFor();
  await notice.getByRole("link", { name: title }).click();
  await page.waitForURL(`${base}/tests/${test.id}`, { waitUntil: "commit" });
  await page.getByRole("heading", { level: 1, name }).waitFor();

  // Mark all read: the badge goes.
  await page.getByRole("link", { name: /^Notifications/ }).click();
  await page.getByRole("button", { name: "Mark all read" }).click();
  await page.getByText("Nothing waits for you.").waitFor();
  await page.getByRole("link", { name: "Notifications", exact: true }).waitFor();
  if (await page.locator("[data-unread]").count()) fail("no badge once everything is read");

  // Blue asks for notices by e-mail too, on the Account page.
  await page.goto(`${base}/account`);
  const address = page.getByLabel("E-mail address");
  await address.fill("blue-e2e@example.org");
  await page.getByRole("button", { name: "Save address" }).click();
  await page.getByText("Your notices go to blue-e2e@example.org too.").waitFor();
  await page.reload();
  if ((await page.getByLabel("E-mail address").inputValue()) !== "blue-e2e@example.org") fail("the address is kept");
  await page.getByLabel("E-mail address").fill("");
  await page.getByRole("button", { name: "Save address" }).click();
  await page.getByText("Your notices stay in the inbox only.").waitFor();

  await signOut();
  await signIn("admin", adminPassword);
}
