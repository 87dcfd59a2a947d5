/**
 * What the browser suites run against: Chromium, the test data (scripts/e2e_fixture.py), the
 * inference service, one `next build`, and a `next start` per suite with a fresh database.
 * Part of harness.mjs (which re-exports it).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { chromium } from 'playwright-core';
import { atExit, CHROMIUM, freePort, getJson, PYTHON, REPO, start, stop, tempDir, waitFor, WEB } from './harness-process.mjs';

const NEXT_BIN = path.join(WEB, 'node_modules', 'next', 'dist', 'bin', 'next');

// ------------------------------------------------------------------------------------------
// Chromium, test data, the inference service, the build, the web server

/** Install Debian's Chromium when it is missing; its output goes to stderr (stdout stays the caller's). */
export function ensureChromium() {
  const r = spawnSync('bash', [path.join(WEB, 'scripts', 'ensure-chromium.sh')], { stdio: ['ignore', 2, 2] });
  if (r.status !== 0) throw new Error('Chromium is not available (scripts/ensure-chromium.sh failed).');
}

/**
 * The pipeline config of the test data, or null when a running service is given
 * (INFERENCE_API_URL) without ML_PLATFORM_CONFIG.
 *
 * E2E_CONFIG: use this config as is (data already written). Otherwise a fresh folder is
 * filled by the repository's `scripts/e2e_fixture.py` (the pipeline through Dagster; prints
 * the config path last), E2E_CANDLES passed on as `--candles`. When that leaves no model
 * bundle (trained_model not materialized), its `--mode perf` data is used instead.
 */
export function prepareFixture() {
  if (process.env.E2E_CONFIG) {
    console.log(`# test data: ${process.env.E2E_CONFIG} (E2E_CONFIG)`);
    return { configPath: path.resolve(process.env.E2E_CONFIG), source: 'E2E_CONFIG' };
  }
  if (process.env.INFERENCE_API_URL) {
    const configPath = process.env.ML_PLATFORM_CONFIG ? path.resolve(REPO, process.env.ML_PLATFORM_CONFIG) : null;
    return { configPath, source: 'given service' };
  }
  if (!fs.existsSync(PYTHON)) throw new Error(`${PYTHON} not found: create the venv (make install) or set INFERENCE_API_URL.`);
  const candles = process.env.E2E_CANDLES;
  const configPath = runFixture(tempDir('web-e2e-data-'), ['--mode', 'pipeline', ...(candles ? ['--candles', candles] : [])]);
  if (hasModelBundle(configPath)) return { configPath, source: 'scripts/e2e_fixture.py' };
  console.log('# scripts/e2e_fixture.py wrote no model bundle (trained_model not materialized): using its --mode perf data');
  return ownFixture(candles || 50_000);
}

/** Test data of `scripts/e2e_fixture.py --mode perf`: one partition of `candles` candles and a quickly trained model. */
export function ownFixture(candles) {
  const configPath = runFixture(tempDir('web-e2e-data-'), ['--mode', 'perf', '--candles', String(candles)]);
  return { configPath, source: 'scripts/e2e_fixture.py --mode perf' };
}

/** Run `python -m scripts.e2e_fixture --out dir ...options`; the config path it printed last. */
function runFixture(dir, options) {
  const args = ['-m', 'scripts.e2e_fixture', '--out', dir, ...options];
  console.log(`# test data: scripts/e2e_fixture.py ${options.join(' ')}`);
  const t0 = Date.now();
  const r = spawnSync(PYTHON, args, { cwd: REPO, env: { ...process.env, PYTHONPATH: REPO }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`scripts/e2e_fixture.py failed (exit ${r.status}):\n${(r.stdout + r.stderr).slice(-4000)}`);
  const lines = r.stdout.trim().split('\n').filter(Boolean);
  const configPath = path.resolve(REPO, lines.at(-1) ?? '');
  if (!fs.existsSync(configPath)) throw new Error(`scripts/e2e_fixture.py did not print a config path (last line: ${lines.at(-1)})`);
  console.log(`# test data ready in ${Math.round((Date.now() - t0) / 1000)} s: ML_PLATFORM_CONFIG=${configPath}`);
  return configPath;
}

/** True when the fixture's models folder (models/ beside its pipeline.yaml) holds at least one bundle. */
/** A partition folder serves a model once it has a champion pointer (versioned bundles) or a legacy flat bundle.json. */
function hasModelBundle(configPath) {
  const models = path.join(path.dirname(configPath), 'models');
  const serves = (name) => ['champion.json', 'bundle.json'].some((file) => fs.existsSync(path.join(models, name, file)));
  return fs.existsSync(models) && fs.readdirSync(models).some(serves);
}

/**
 * The inference service: the given INFERENCE_API_URL, or `python -m serving` started here with
 * ML_PLATFORM_CONFIG=configPath on a free port. A started one can be stopped and started again
 * on the same port (the outage test).
 */
export async function inferenceService(configPath, { own = false } = {}) {
  if (process.env.INFERENCE_API_URL && !own) {
    const url = process.env.INFERENCE_API_URL.replace(/\/+$/, '');
    console.log(`# inference service: ${url} (given)`);
    await waitFor(`inference service at ${url}`, null, () => getJson(`${url}/partitions`), 30_000);
    return { url, managed: false };
  }
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = { ...process.env, PYTHONPATH: REPO };
  if (configPath) env.ML_PLATFORM_CONFIG = configPath;
  const service = {
    url,
    managed: true,
    entry: null,
    async start() {
      console.log(`# inference service: starting ${PYTHON} -m serving --port ${port}`);
      this.entry = start('serving', PYTHON, ['-m', 'serving', '--port', String(port)], { cwd: REPO, env });
      await waitFor('inference service', this.entry, () => getJson(`${url}/partitions`), 180_000, 200);
    },
    async stop() {
      if (this.entry) await stop(this.entry);
    },
  };
  await service.start();
  return service;
}

export async function choosePartition(serviceUrl, minCandles = 300) {
  const partitions = await getJson(`${serviceUrl}/partitions`);
  const wanted = process.env.E2E_PAIR && process.env.E2E_TIMEFRAME;
  const chosen = wanted
    ? partitions.find((p) => p.pair === process.env.E2E_PAIR && p.timeframe === process.env.E2E_TIMEFRAME)
    : (partitions.find((p) => p.candles >= minCandles && p.has_model) ?? partitions.find((p) => p.candles >= minCandles));
  if (!chosen) {
    throw new Error(
      `The inference service lists no partition ${wanted ? `${process.env.E2E_PAIR}|${process.env.E2E_TIMEFRAME}` : `with ${minCandles}+ candles`}` +
        ` (it has: ${JSON.stringify(partitions.map((p) => `${p.pair}|${p.timeframe}:${p.candles}`))}).`,
    );
  }
  return chosen;
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : fs.statSync(full).mtimeMs);
  }
  return newest;
}

/** `next build` unless .next is newer than the sources (E2E_BUILD=always|never|auto). */
export function buildIfNeeded() {
  const mode = process.env.E2E_BUILD || 'auto';
  const buildId = path.join(WEB, '.next', 'BUILD_ID');
  if (mode === 'never') return;
  if (mode === 'auto' && fs.existsSync(buildId)) {
    const sources = Math.max(
      newestMtime(path.join(WEB, 'src')),
      ...['package-lock.json', 'next.config.ts', 'tsconfig.json'].map((f) => fs.statSync(path.join(WEB, f)).mtimeMs),
    );
    if (fs.statSync(buildId).mtimeMs > sources) {
      console.log('# next build: .next is newer than the sources, reused');
      return;
    }
  }
  console.log('# next build ...');
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [NEXT_BIN, 'build'], {
    cwd: WEB,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`next build failed:\n${(r.stdout + r.stderr).slice(-4000)}`);
  console.log(`# next build done in ${Math.round((Date.now() - t0) / 1000)} s`);
}

/** A fresh PostgreSQL database; dropped at exit. */
async function throwAwayDatabase() {
  const adminUrl = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
  const name = `web_e2e_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  atExit(async () => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    try {
      await c.query(`drop database if exists ${name} with (force)`);
    } finally {
      await c.end();
    }
  });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  console.log(`# annotations: PostgreSQL database ${name} (dropped at the end)`);
  return url.toString();
}

/**
 * `next start` on a free port against `serviceUrl`, with a fresh PGlite folder (or, with
 * E2E_DATABASE=postgres, a throw-away PostgreSQL database) and the extra environment `env`.
 */
export async function webServer(serviceUrl, env = {}) {
  const dir = tempDir('web-e2e-');
  const port = await freePort();
  const full = {
    ...process.env,
    NEXT_TELEMETRY_DISABLED: '1',
    INFERENCE_API_URL: serviceUrl,
    PGLITE_DATA_DIR: path.join(dir, 'pglite'),
    ...env,
  };
  delete full.ANNOTATIONS_DATABASE_URL;
  if (process.env.E2E_DATABASE === 'postgres') full.ANNOTATIONS_DATABASE_URL = await throwAwayDatabase();
  const entry = start('next', process.execPath, [NEXT_BIN, 'start', '-p', String(port), '-H', '127.0.0.1'], { cwd: WEB, env: full });
  const url = `http://127.0.0.1:${port}`;
  await waitFor('next start', entry, async () => (await fetch(`${url}/api/span-annotations`)).ok, 60_000, 250);
  return { url, entry, dir, lockFile: `${full.PGLITE_DATA_DIR}.lock` };
}

/** Stop the web server; a clean shutdown releases the PGlite folder (checked). */
export async function stopWebServer(web, reporter) {
  await stop(web.entry);
  if (process.env.E2E_DATABASE === 'postgres') return;
  reporter.record('the web server closes its database on SIGTERM', !fs.existsSync(web.lockFile), 'lock file left behind');
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: !process.env.E2E_HEADED,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-gpu'],
  });
}
