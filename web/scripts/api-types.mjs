#!/usr/bin/env node
/**
 * The inference service's API types, generated from its OpenAPI schema.
 *
 *   node scripts/api-types.mjs          rewrite generated/api.gen.ts   (npm run api-types, make api-types)
 *   node scripts/api-types.mjs --check  fail when it no longer matches (npm run check:api-types, make check-api-types)
 *
 * The schema comes from `python -m scripts.export_openapi` (the repository's .venv, no server
 * started); openapi-typescript turns it into TypeScript. Both steps write to a temporary folder,
 * so a check leaves the tree as it found it.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const WEB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const REPO = path.dirname(WEB);
const PYTHON = path.join(REPO, '.venv', 'bin', 'python');
const OPENAPI_TS = path.join(WEB, 'node_modules', '.bin', 'openapi-typescript');
const TARGET = path.join(WEB, 'generated', 'api.gen.ts');

function run(command, args, options) {
  const r = spawnSync(command, args, { encoding: 'utf8', ...options });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${path.basename(command)} ${args.join(' ')} failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  return r;
}

/** The generated TypeScript, as a string. */
function generate() {
  if (!fs.existsSync(PYTHON)) throw new Error(`${PYTHON} not found: create the venv first (make install).`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'api-types-'));
  try {
    const schema = path.join(dir, 'openapi.json');
    const output = path.join(dir, 'api.gen.ts');
    run(PYTHON, ['-m', 'scripts.export_openapi', '--out', schema], { cwd: REPO, env: { ...process.env, PYTHONPATH: REPO } });
    run(OPENAPI_TS, [schema, '--output', output], { cwd: WEB });
    return fs.readFileSync(output, 'utf8');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function main(args) {
  const check = args.includes('--check');
  const fresh = generate();
  const relative = path.relative(REPO, TARGET);
  if (!check) {
    fs.writeFileSync(TARGET, fresh);
    console.log(`wrote ${relative}`);
    return 0;
  }
  const current = fs.existsSync(TARGET) ? fs.readFileSync(TARGET, 'utf8') : '';
  if (current === fresh) {
    console.log(`${relative} matches the service's OpenAPI schema`);
    return 0;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'api-types-'));
  try {
    const expected = path.join(dir, 'api.gen.ts');
    fs.writeFileSync(expected, fresh);
    const diff = spawnSync('diff', ['-u', '--label', `${relative} (committed)`, '--label', `${relative} (from serving/)`, fs.existsSync(TARGET) ? TARGET : '/dev/null', expected], {
      encoding: 'utf8',
    });
    console.error(diff.stdout || diff.stderr || '(no diff output)');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.error(`${relative} is out of date with serving/schemas.py: run \`make api-types\` and commit the result.`);
  return 1;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (err) {
  console.error(String(err.message || err));
  process.exitCode = 2;
}
