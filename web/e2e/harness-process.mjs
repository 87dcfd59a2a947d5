/**
 * The browser tests' processes and plumbing: the repository's paths, the processes started
 * (each in its own process group, stopped by its id, all of them at exit or on SIGINT/SIGTERM),
 * clean-ups run at the very end, free ports, waiting for readiness, JSON over HTTP, assert and
 * temporary folders. Part of harness.mjs (which re-exports it).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const WEB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPO = path.dirname(WEB);
/** The repository's docs/, linked from the READMEs: screenshots and frame-times.md go there with E2E_DOCS=1 only. */
export const DOCS = path.join(REPO, 'docs');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const PYTHON = path.join(REPO, '.venv', 'bin', 'python');

// ------------------------------------------------------------------------------------------
// Processes

const started = [];
const cleanups = [];

export function start(name, command, args, options) {
  const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const entry = { name, child, log: '', exited: false };
  const keep = (chunk) => {
    entry.log = (entry.log + chunk).slice(-20_000);
    if (process.env.E2E_VERBOSE) process.stderr.write(`[${name}] ${chunk}`);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.on('exit', (code, signal) => {
    entry.exited = true;
    entry.exit = { code, signal };
    if (!entry.stopping) console.log(`# ${name} (pid ${child.pid}) exited by itself: code ${code}, signal ${signal}`);
  });
  started.push(entry);
  return entry;
}

export async function stop(entry, { graceMs = 10_000 } = {}) {
  if (entry.exited) return;
  entry.stopping = true;
  const gone = new Promise((resolve) => entry.child.once('exit', resolve));
  try {
    process.kill(-entry.child.pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = new Promise((resolve) => setTimeout(() => resolve('timeout'), graceMs));
  if ((await Promise.race([gone, timer])) === 'timeout') {
    try {
      process.kill(-entry.child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    await gone;
  }
}

/** Run `fn` at the very end (after every process stopped): temp folders, throw-away databases. */
export function atExit(fn) {
  cleanups.push(fn);
}

export async function stopAll() {
  for (const entry of started.splice(0).reverse()) await stop(entry);
  for (const fn of cleanups.splice(0).reverse()) {
    try {
      await fn();
    } catch (err) {
      console.log(`# cleanup failed: ${err.message}`);
    }
  }
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    stopAll().finally(() => process.exit(130));
  });
}

export async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function waitFor(what, entry, probe, timeoutMs, intervalMs = 500) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (entry?.exited) throw new Error(`${what} exited early:\n${entry.log.slice(-3000)}`);
    try {
      const result = await probe();
      if (result) return result;
    } catch (err) {
      last = err.message;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`${what} not ready after ${timeoutMs / 1000} s (${last})${entry ? `:\n${entry.log.slice(-3000)}` : ''}`);
}

export async function getJson(url, init) {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(60_000) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: ${res.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

export function postJson(url, body) {
  return getJson(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

export function assert(condition, message) {
  if (!condition) throw new Error(message);
}

export function tempDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  atExit(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}
