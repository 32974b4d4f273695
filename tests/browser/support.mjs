// Shared helpers of the browser tests: a page server on another origin, a herald process,
// HS256 tokens, and Debian's Chromium through playwright-core.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { chromium } from 'playwright-core';

export const HERALD = process.env.HERALD_BIN || new URL('../../build/herald', import.meta.url).pathname;
export const SECRET = 'browser-test-secret-browser-test-secret';

function b64url(s) { return Buffer.from(s).toString('base64url'); }
export function token(claims) {
  const input = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' })) + '.' + b64url(JSON.stringify(claims));
  return input + '.' + createHmac('sha256', SECRET).update(input).digest('base64url');
}
export const PUBLISHER = token({ mercure: { publish: ['*'] } });

export function fail(message) { console.error('FAIL: ' + message); process.exitCode = 1; }

export async function startPageServer() {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end('<!doctype html><title>herald test</title><p>page</p>');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

// Each herald gets a store of its own in a scratch directory: the browser tests run in parallel
// and the LMDB store admits one process at a time.
export async function startHerald(extraArgs) {
  const dir = mkdtempSync(join(tmpdir(), 'herald-browser-'));
  const proc = spawn(HERALD, ['run', '--addr', '127.0.0.1:0', '--jwt-key', SECRET,
    '--transport-url', 'lmdb://' + join(dir, 'data'), ...extraArgs],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  proc.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  let log = '';
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('herald did not start: ' + log)), 15000);
    proc.stderr.on('data', (chunk) => {
      log += chunk;
      const m = /listening .*port=(\d+)/.exec(log);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    proc.on('exit', (code) => reject(new Error('herald exited ' + code + ': ' + log)));
  });
  return { proc, port };
}

export async function stopHerald(herald) {
  herald.proc.kill('SIGTERM');
  const [code] = await once(herald.proc, 'exit');
  if (code !== 0) fail('herald exited with ' + code);
}

export async function publish(port, fields) {
  const res = await fetch(`http://127.0.0.1:${port}/.well-known/mercure`, {
    method: 'POST',
    headers: { Authorization: 'Bearer ' + PUBLISHER, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields),
  });
  if (res.status !== 200) throw new Error('publish failed: ' + res.status);
  return res.text();
}

export function launchChromium() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
