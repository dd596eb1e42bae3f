// The whole Aegis workflow through a TypeScript client @hey-api/openapi-ts
// generated from the live document (run.mjs), with typed calls only: the
// same story as contract/python/workflow.py. tsc checks every call against
// the generated types; at run time the SDK checks every successful answer
// with the generated zod schema, and this driver checks every error answer
// with the generated `zProblem`. A failure is recorded with the operation,
// the field path and zod's message, and the run goes on: when a successful
// answer does not decode, later steps may read the ids they need from its
// undecoded JSON only so that they can be tried too (that step has already
// failed). Nothing is sent except through the generated SDK functions.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { type Client, createClient, createConfig } from './client/client';
import * as sdk from './client/sdk.gen';
import type * as T from './client/types.gen';
import * as zod from './client/zod.gen';

type Failure = { group: string; where: string; message: string; operations?: string[] };
const failures: Failure[] = [];
let passed = 0;
const out = process.argv[2] ?? 'result.json';
const baseUrl = required('AEGIS_CONTRACT_URL');
const adminPassword = required('AEGIS_CONTRACT_ADMIN_PASSWORD');
function failEarly(message: string): never {
  throw new Error(message);
}

// scripts/contract.sh sets it; this file runs compiled in a temporary folder.
const shared = process.env.AEGIS_SHARED_DATA ?? failEarly('AEGIS_SHARED_DATA is not set');
const pluginDir = process.env.AEGIS_PLUGIN_BUILD_DIR ?? join(process.env.HOME ?? '', '.cache', 'aegis', 'plugins');
const prefix = 'ts';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

class Blocked extends Error {}

/** Records a failure once: repeats (another item of a list, another call) add their operation. */
let failureCount = 0;
function fail(group: string, where: string, message: string, operation?: string): void {
  failureCount += 1;
  const place = where.replace(/\.\d+(?=\.|$)/g, '[]');
  const known = failures.find((f) => f.group === `typescript: ${group}` && f.where === place && f.message === message);
  if (known) {
    if (operation && !known.operations?.includes(operation)) (known.operations ??= []).push(operation);
    return;
  }
  failures.push({ group: `typescript: ${group}`, where: place, message, ...(operation ? { operations: [operation] } : {}) });
}

// The status and body of the last answer, for failure messages and for the
// fallback described above.
let lastAnswer: { status: number; body: string } | undefined;

function client(token?: string): Client {
  const made = createClient(createConfig({ baseUrl, ...(token ? { auth: token } : {}) }));
  made.interceptors.response.use(async (response) => {
    lastAnswer = { status: response.status, body: await response.clone().text() };
    return response;
  });
  return made;
}

type Reply<D> = { data?: D; error?: unknown; response: Response };

let failedCalls = 0;
let stopped = 0;

/** One typed call, expecting `expect`; answers the decoded data. */
async function call<D>(step: string, operation: string, expect: number, send: () => Promise<Reply<D>>): Promise<D> {
  const before = failureCount;
  try {
    return await callOnce(step, operation, expect, send);
  } finally {
    if (failureCount > before) failedCalls += 1;
    else passed += 1;
  }
}

async function callOnce<D>(step: string, operation: string, expect: number, send: () => Promise<Reply<D>>): Promise<D> {
  lastAnswer = undefined;
  let reply: Reply<D>;
  try {
    reply = await send();
  } catch (error) {
    return undecoded<D>(step, operation, expect, error);
  }
  const status = reply.response.status;
  if (status !== expect) {
    const problem = zod.zProblem.safeParse(reply.error);
    const said = problem.success ? ` ${problem.data.code}: ${problem.data.detail}` : '';
    fail('unexpected answer', operation, `${step}: expected ${expect}, got ${status}${said}`);
    throw new Blocked(operation);
  }
  if (expect >= 400) {
    const problem = zod.zProblem.safeParse(reply.error);
    if (!problem.success) {
      for (const issue of problem.error.issues) {
        fail('an error answer does not decode as Problem', `Problem.${issue.path.join('.')}`, issue.message, `${operation} (${status})`);
      }
    } else if (problem.data.status !== expect) {
      fail('wrong answer', operation, `${step}: the problem says status ${problem.data.status}`);
    }
    return reply.error as D;
  }
  return reply.data as D;
}

function undecoded<D>(step: string, operation: string, expect: number, error: unknown): D {
  const status = lastAnswer?.status ?? 0;
  const issues = (error as { issues?: { path: PropertyKey[]; message: string }[] }).issues;
  if (issues) {
    for (const issue of issues) {
      fail(
        status >= 400 ? 'an error answer does not decode' : 'a successful answer does not decode',
        `answer .${issue.path.map(String).join('.')}`,
        issue.message,
        `${operation} (${status})`,
      );
    }
  } else {
    fail('call failed', operation, `${step}: ${String((error as Error)?.stack ?? error)}`);
  }
  if (status !== expect || !lastAnswer) throw new Blocked(operation);
  try {
    return JSON.parse(lastAnswer.body) as D;
  } catch {
    throw new Blocked(operation);
  }
}

async function section(name: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    stopped += 1;
    if (error instanceof Blocked) fail('workflow steps not reached', name, `stopped at ${error.message}`);
    else fail('driver error', name, String((error as Error)?.stack ?? error));
  }
}

// --- the workflow -------------------------------------------------------------

type Users = { admin: Client; lead: Client; red: Client; blue: Client; viewer: Client; ids: Record<string, string>; names: Record<string, string> };
const password = `${prefix}-contract-password`;
let testId: string | undefined;
let cancelledId: string | undefined;

async function login(username: string, secret: string): Promise<T.LoginResponse> {
  return call(`login ${username}`, 'login', 200, () => sdk.login({ client: client(), body: { username, password: secret } }));
}

async function users(): Promise<Users> {
  const admin = client((await login('admin', adminPassword)).access_token);
  await call('who am I', 'get_me', 200, () => sdk.getMe({ client: admin }));
  const stamp = Date.now();
  const roles: [string, T.Role][] = [['lead', 'lead'], ['red', 'red_tech'], ['blue', 'blue_tech'], ['viewer', 'viewer']];
  const made: Record<string, Client> = {};
  const ids: Record<string, string> = {};
  const names: Record<string, string> = {};
  for (const [key, role] of roles) {
    const username = `${prefix}-${key}-${stamp}`;
    const user = await call(`create ${role}`, 'create_user', 201, () =>
      sdk.createUser({ client: admin, body: { username, role, password, display_name: `${key} (${prefix})` } }),
    );
    ids[key] = user.id;
    names[key] = username;
    // A first sign-in: the user has never signed in before.
    made[key] = client((await login(username, password)).access_token);
  }
  await call('list users', 'list_users', 200, () => sdk.listUsers({ client: admin, query: { limit: 100 } }));
  return { admin, lead: made.lead!, red: made.red!, blue: made.blue!, viewer: made.viewer!, ids, names };
}

function expectState(test: T.TestView, state: T.TestState): void {
  if (test.state !== state) fail('wrong answer', 'test state', `expected ${state}, got ${test.state}`);
}

async function upload(who: Client, id: string, name: string, text: string, description: string, type = 'text/plain'): Promise<T.EvidenceView> {
  const file = new File([text], name, { type });
  return call(`upload ${name}`, 'upload_evidence', 201, () => sdk.uploadEvidence({ client: who, path: { id }, body: { file, description } }));
}

async function testLifecycle(u: Users): Promise<void> {
  const atomic = join(shared, 'atomic-red-team', 'T1059.001', 'T1059.001.yaml');
  const yaml = new File([readFileSync(atomic)], 'T1059.001.yaml', { type: 'application/yaml' });
  const report = await call('import an Atomic Red Team file', 'import_atomic', 200, () =>
    sdk.importAtomic({ client: u.lead, body: { file: yaml } }),
  );
  if (report.created + report.updated + report.unchanged < 1) fail('wrong answer', 'import_atomic', 'no template imported');
  const page = await call('list templates', 'list_templates', 200, () =>
    sdk.listTemplates({ client: u.red, query: { technique: 'T1059.001', limit: 10 } }),
  );
  const template = page.items[0];
  if (!template) throw new Blocked('no template');
  await call('get template', 'get_template', 200, () => sdk.getTemplate({ client: u.red, path: { id: template.id } }));
  let test = await call('draft a test from the template', 'create_test_from_template', 201, () =>
    sdk.createTestFromTemplate({
      client: u.red,
      path: { id: template.id },
      body: { name: `${prefix} contract test`, red_assignee_id: u.ids.red, blue_assignee_id: u.ids.blue, tags: ['contract'] },
    }),
  );
  const id = test.id;
  testId = id;
  expectState(test, 'draft');
  test = await call('start execution', 'start_test_execution', 200, () => sdk.startTestExecution({ client: u.red, path: { id } }));
  expectState(test, 'red_executing');

  const redText = 'red team output\n';
  const redEvidence = await upload(u.red, id, 'red.txt', redText, 'what the red team saw');
  test = await call('get test', 'get_test', 200, () => sdk.getTest({ client: u.red, path: { id } }));
  const now = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
  const version = test.version;
  test = await call('red fields', 'update_test', 200, () =>
    sdk.updateTest({
      client: u.red,
      path: { id },
      headers: { 'If-Match': `"${version}"` },
      body: { executed_at: now, attack_outcome: 'succeeded', red_notes: 'ran it' },
    }),
  );
  test = await call('submit to blue', 'submit_test_to_blue', 200, () => sdk.submitTestToBlue({ client: u.red, path: { id } }));
  expectState(test, 'blue_evaluating');

  const blueText = '{"alert": "powershell"}\n';
  const blueEvidence = await upload(u.blue, id, 'alert.json', blueText, 'the SIEM alert', 'application/json');
  const listed = await call('list evidence', 'list_evidence', 200, () => sdk.listEvidence({ client: u.blue, path: { id } }));
  if (listed.length !== 2) fail('wrong answer', 'list_evidence', `expected 2 files, got ${listed.length}`);
  await call('get evidence', 'get_evidence', 200, () => sdk.getEvidence({ client: u.blue, path: { id, evidence_id: redEvidence.id } }));
  for (const [evidence, text] of [[redEvidence, redText], [blueEvidence, blueText]] as const) {
    const got = await call('download evidence', 'download_evidence', 200, () =>
      sdk.downloadEvidence({ client: u.blue, path: { id, evidence_id: evidence.id }, parseAs: 'blob' }),
    );
    const content = await got.text();
    if (content !== text) fail('wrong answer', 'download_evidence', `the file came back different: ${content.slice(0, 80)}`);
  }
  const extra = await upload(u.blue, id, 'extra.txt', 'to delete\n', 'uploaded by mistake');
  await call('delete evidence', 'delete_evidence', 204, () =>
    sdk.deleteEvidence({ client: u.blue, path: { id, evidence_id: extra.id } }),
  );

  test = await call('get test', 'get_test', 200, () => sdk.getTest({ client: u.blue, path: { id } }));
  const blueVersion = test.version;
  test = await call('blue outcome', 'update_test', 200, () =>
    sdk.updateTest({
      client: u.blue,
      path: { id },
      headers: { 'If-Match': `"${blueVersion}"` },
      body: { detection_outcome: 'alerted', detected_at: now, detection_source: 'SIEM', blue_notes: 'alerted' },
    }),
  );
  test = await call('complete', 'complete_test', 200, () => sdk.completeTest({ client: u.blue, path: { id } }));
  expectState(test, 'completed');
  test = await call('reopen', 'reopen_test', 200, () => sdk.reopenTest({ client: u.lead, path: { id } }));
  expectState(test, 'blue_evaluating');
  test = await call('complete again', 'complete_test', 200, () => sdk.completeTest({ client: u.blue, path: { id } }));
  expectState(test, 'completed');
  await call('history', 'get_test_history', 200, () => sdk.getTestHistory({ client: u.lead, path: { id } }));
  await call('list completed tests', 'list_tests', 200, () => sdk.listTests({ client: u.lead, query: { state: 'completed', limit: 50 } }));
}

async function cancels(u: Users): Promise<void> {
  for (const start of [false, true]) {
    let test = await call('create a test', 'create_test', 201, () =>
      sdk.createTest({ client: u.red, body: { name: `${prefix} to cancel`, technique_id: 'T1059.003', platform: 'windows' } }),
    );
    const id = test.id;
    if (start) await call('start execution', 'start_test_execution', 200, () => sdk.startTestExecution({ client: u.red, path: { id } }));
    test = await call('cancel', 'cancel_test', 200, () => sdk.cancelTest({ client: u.red, path: { id } }));
    expectState(test, 'cancelled');
    cancelledId = id;
  }
}

async function coverage(u: Users): Promise<void> {
  const cov = await call('coverage', 'get_coverage', 200, () => sdk.getCoverage({ client: u.lead }));
  const found = cov.techniques.find((t) => t.attack_id === 'T1059.001');
  if (found?.status !== 'covered') fail('wrong answer', 'get_coverage', `T1059.001 should be covered: ${found?.status}`);
  await call('KPIs', 'get_kpis', 200, () => sdk.getKpis({ client: u.lead }));
  await call('Navigator layer', 'export_navigator_layer', 200, () => sdk.exportNavigatorLayer({ client: u.lead }));
  // A typed answer has a generated schema the SDK checks it with.
  if (!('zExportNavigatorLayerResponse' in zod)) {
    fail('answer untyped in the document', 'export_navigator_layer', 'no schema for its 200 answer (the layer is typed `{}`)');
  }
}

async function alerts(u: Users): Promise<void> {
  const rule = await call('create alert rule', 'create_alert_rule', 201, () =>
    sdk.createAlertRule({ client: u.lead, body: { name: `${prefix} regressions`, kind: 'technique_regressed', severity: 'high' } }),
  );
  await call('evaluate alert rule', 'evaluate_alert_rule', 200, () => sdk.evaluateAlertRule({ client: u.lead, path: { id: rule.id } }));
  await call('list alerts', 'list_alerts', 200, () => sdk.listAlerts({ client: u.lead, query: { limit: 50 } }));
}

async function reports(u: Users): Promise<void> {
  let report = await call('generate report', 'generate_report', 202, () =>
    sdk.generateReport({ client: u.lead, body: { kind: 'coverage', format: 'json', title: `${prefix} coverage` } }),
  );
  const deadline = Date.now() + 120_000;
  while (report.status !== 'ready' && report.status !== 'failed' && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const id = report.id;
    report = await call('report status', 'get_report', 200, () => sdk.getReport({ client: u.lead, path: { id } }));
  }
  if (report.status !== 'ready') {
    fail('wrong answer', 'get_report', `the report ended ${report.status}`);
    throw new Blocked('report not ready');
  }
  const id = report.id;
  const file = await call('download report', 'download_report', 200, () => sdk.downloadReport({ client: u.lead, path: { id }, parseAs: 'blob' }));
  try {
    JSON.parse(await file.text());
  } catch (error) {
    fail('wrong answer', 'download_report', `not the JSON report: ${String(error)}`);
  }
}

async function plugins(u: Users): Promise<void> {
  const bytes = readFileSync(join(pluginDir, 'blue-review-overdue.wasm'));
  const file = new File([bytes], 'blue-review-overdue.wasm', { type: 'application/wasm' });
  const plugin = await call('upload plugin', 'upload_plugin', 201, () =>
    sdk.uploadPlugin({ client: u.admin, body: { kind: 'alert_rule', file } }),
  );
  await call('enable plugin', 'enable_plugin', 200, () => sdk.enablePlugin({ client: u.admin, path: { id: plugin.id } }));
  await call('list plugins', 'list_plugins', 200, () => sdk.listPlugins({ client: u.admin, query: { limit: 50 } }));
  // Leaves the server as the workflow found it: a second run uploads the same component.
  await call('delete plugin', 'delete_plugin', 204, () => sdk.deletePlugin({ client: u.admin, path: { id: plugin.id } }));
}

async function errorAnswers(u: Users): Promise<void> {
  const missing = '00000000-0000-0000-0000-000000000000';
  const checks: [string, string, number, () => Promise<Reply<unknown>>][] = [
    ['wrong password', 'login', 401, () => sdk.login({ client: client(), body: { username: 'admin', password: 'wrong password!' } })],
    ['no credentials', 'get_me', 401, () => sdk.getMe({ client: client() })],
    ['unknown test', 'get_test', 404, () => sdk.getTest({ client: u.red, path: { id: missing } })],
    ['viewer may not plan tests', 'create_test', 403, () =>
      sdk.createTest({ client: u.viewer, body: { name: 'not allowed', technique_id: 'T1059.001' } })],
    ['invalid user', 'create_user', 422, () =>
      sdk.createUser({ client: u.admin, body: { username: 'x', role: 'viewer', password: 'short' } })],
    ['username taken', 'create_user', 409, () =>
      sdk.createUser({ client: u.admin, body: { username: u.names.red!, role: 'viewer', password } })],
  ];
  const cancelled = cancelledId;
  if (cancelled) checks.push(['illegal transition', 'complete_test', 409, () => sdk.completeTest({ client: u.blue, path: { id: cancelled } })]);
  const id = testId;
  if (id) {
    checks.push(['stale version', 'update_test', 412, () =>
      sdk.updateTest({ client: u.lead, path: { id }, headers: { 'If-Match': '"1"' }, body: { blue_notes: 'stale' } })]);
    checks.push(['no version', 'update_test', 428, () => sdk.updateTest({ client: u.lead, path: { id }, body: { blue_notes: 'no version' } })]);
  }
  for (const [step, operation, status, send] of checks) {
    try {
      await call(step, operation, status, send);
    } catch (error) {
      if (!(error instanceof Blocked)) throw error;
    }
  }
}

async function main(): Promise<void> {
  let u: Users | undefined;
  await section('sign-in and users', async () => {
    u = await users();
  });
  if (u) {
    const all = u;
    await section('template import, test, transitions, evidence', () => testLifecycle(all));
    await section('cancel from draft and from red_executing', () => cancels(all));
    await section('coverage, KPIs, Navigator layer', () => coverage(all));
    await section('alert rule create and evaluate', () => alerts(all));
    await section('report generate and download', () => reports(all));
    await section('plugin upload', () => plugins(all));
    await section('error answers decode as Problem', () => errorAnswers(all));
  }
  const summary = `${passed} calls passed, ${failedCalls} failed, ${stopped} of 8 parts stopped early`;
  writeFileSync(out, JSON.stringify({ part: 'typescript client', stack: process.env.AEGIS_CONTRACT_STACK ?? '-', failures, summary }, null, 2));
  process.exitCode = failures.length ? 1 : 0;
}

void main();
