// Generates a TypeScript client from the live OpenAPI document with
// @hey-api/openapi-ts (fetch client, SDK functions, zod schemas that check
// every request and answer at run time), compiles the workflow driver against
// it with tsc (a call the document does not allow fails to compile), then runs
// it. Usage: node run.mjs DOC WORK_DIR NPM_DIR RESULT_JSON
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [doc, work, npmDir, out] = process.argv.slice(2).map((p) => resolve(p));
const here = dirname(fileURLToPath(import.meta.url));
const failures = [];
const write = (summary) =>
  writeFileSync(out, JSON.stringify({ part: 'typescript client', stack: process.env.AEGIS_CONTRACT_STACK ?? '-', failures, summary }, null, 2));

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
for (const f of ['drive.ts', 'tsconfig.json']) copyFileSync(join(here, f), join(work, f));
if (!existsSync(join(work, 'node_modules'))) symlinkSync(join(npmDir, 'node_modules'), join(work, 'node_modules'));

// 1. generate
const { createClient } = await import(pathToFileURL(join(npmDir, 'node_modules/@hey-api/openapi-ts/dist/index.mjs')).href);
try {
  await createClient({
    input: doc,
    output: { path: join(work, 'client'), clean: true },
    logs: { level: 'warn' },
    plugins: [
      '@hey-api/client-fetch',
      '@hey-api/typescript',
      // RFC 3339 date-times may carry an offset (Aegis sends `+00:00`);
      // zod accepts only `Z` unless told otherwise.
      { name: 'zod', dates: { offset: true } },
      // Every successful answer is checked against its generated zod schema,
      // so a document that disagrees with the server fails here. Requests are
      // checked by tsc alone: the zod plugin types a multipart file as a
      // string, so checking requests at run time would refuse every upload.
      { name: '@hey-api/sdk', validator: { request: false, response: 'zod' } },
    ],
  });
} catch (error) {
  failures.push({ group: 'typescript: generation failed', where: 'openapi-ts', message: String(error?.stack ?? error) });
  write('not generated');
  process.exit(1);
}

// 2. compile the driver against the generated types
const tsc = spawnSync(process.execPath, [join(npmDir, 'node_modules/typescript/bin/tsc'), '-p', work], { encoding: 'utf8' });
if (tsc.status !== 0) {
  for (const line of (tsc.stdout + tsc.stderr).split('\n').filter((l) => l.includes('error TS'))) {
    failures.push({ group: 'typescript: the driver does not compile against the generated client', where: line.split('(')[0], message: line });
  }
  if (failures.length === 0) failures.push({ group: 'typescript: tsc failed', where: 'tsc', message: tsc.stdout + tsc.stderr });
  write('did not compile');
  process.exit(1);
}

// 3. run it: it writes the result file itself
let status = 0;
try {
  execFileSync(process.execPath, [join(work, 'out', 'drive.js'), out], { stdio: 'inherit', env: process.env });
} catch {
  status = 1;
}

// 4. name the schema and field of each answer that did not decode
// (`answer .items[].executed_at` of list_tests is TestView.executed_at), as
// the Python client's decoder does.
if (existsSync(out)) {
  const document = JSON.parse(readFileSync(doc, 'utf8'));
  const result = JSON.parse(readFileSync(out, 'utf8'));
  const merged = new Map();
  for (const failure of result.failures) {
    const places = failure.where.startsWith('answer .') && failure.operations ? failure.operations : [undefined];
    for (const operation of places) {
      const where = operation ? schemaPlace(document, operation, failure.where.slice('answer .'.length)) : failure.where;
      const key = `${failure.group}|${where}|${failure.message}`;
      const entry = merged.get(key) ?? { ...failure, where, operations: [] };
      if (operation) entry.operations.push(operation);
      else entry.operations = failure.operations;
      merged.set(key, entry);
    }
  }
  result.failures = [...merged.values()];
  writeFileSync(out, JSON.stringify(result, null, 2));
}
process.exit(status);

/** `Schema.field` for a path inside the answer of `operation (status)`. */
function schemaPlace(document, operation, path) {
  const [, id, code] = operation.match(/^(\S+) \((\d+)\)$/) ?? [];
  let schema;
  for (const item of Object.values(document.paths)) {
    for (const op of Object.values(item)) {
      const content = op?.operationId === id ? op.responses?.[code]?.content ?? {} : {};
      const json = Object.keys(content).find((type) => type.startsWith('application/json'));
      if (json) schema = content[json].schema;
    }
  }
  let name = `${id} answer`;
  let field = '';
  const deref = (s) => {
    while (s?.$ref) s = document.components.schemas[s.$ref.split('/').pop()];
    return s;
  };
  // Moves into a schema: an object with properties becomes the place's name.
  const enter = (s) => {
    const target = s?.allOf?.[0] ?? s;
    const resolved = deref(target);
    if (target?.$ref && resolved?.properties) {
      name = target.$ref.split('/').pop();
      field = '';
    }
    return resolved;
  };
  schema = enter(schema);
  for (const part of path.split('.').filter(Boolean)) {
    const segment = part.replace(/\[\]$/, '');
    if (segment) {
      field = field ? `${field}.${segment}` : segment;
      schema = enter(schema?.properties?.[segment]);
    }
    if (part.endsWith('[]')) schema = enter(schema?.items);
  }
  return field ? `${name}.${field}` : name;
}
