// HTTPS and HTTP/2 in headless Chromium: a test CA that Chromium trusts (an NSS database in a
// scratch HOME), herald with its certificate, and 10 EventSources to one origin that all open
// and all receive an update (they share one HTTP/2 connection). Over plain HTTP/1.1 the same
// page gets 6 connections per origin: the 7th EventSource waits, which is checked too.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { fail, startHerald, stopHerald, token } from './support.mjs';

const watchdog = setTimeout(() => { fail('deadline exceeded'); process.exit(1); }, 120000);

function makeCa(dir) {
  const ossl = (...args) => execFileSync('openssl', args, { stdio: 'pipe' });
  writeFileSync(join(dir, 'server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n');
  ossl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'ca.key'),
    '-out', join(dir, 'ca.pem'), '-days', '2', '-subj', '/CN=Herald browser test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  ossl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'server.key'),
    '-out', join(dir, 'server.csr'), '-subj', '/CN=127.0.0.1');
  ossl('x509', '-req', '-in', join(dir, 'server.csr'), '-CA', join(dir, 'ca.pem'), '-CAkey', join(dir, 'ca.key'),
    '-CAcreateserial', '-out', join(dir, 'server.pem'), '-days', '2', '-extfile', join(dir, 'server.ext'));
  // Chromium on Linux trusts the CAs of $HOME/.pki/nssdb.
  const home = join(dir, 'home');
  const db = 'sql:' + join(home, '.pki', 'nssdb');
  execFileSync('mkdir', ['-p', join(home, '.pki', 'nssdb')]);
  execFileSync('certutil', ['-d', db, '-N', '--empty-password'], { stdio: 'pipe' });
  execFileSync('certutil', ['-d', db, '-A', '-t', 'C,,', '-n', 'herald-test-ca', '-i', join(dir, 'ca.pem')], { stdio: 'pipe' });
  return { cert: join(dir, 'server.pem'), key: join(dir, 'server.key'), home };
}

// Opens `n` EventSources from the page (same origin: the hub's debug UI page) and resolves
// when `expect` of them are open, or after `within` ms with how many opened.
async function openEventSources(page, n, within) {
  return page.evaluate(async ({ n, within }) => {
    window.sources = [];
    window.received = new Array(n).fill(null);
    let open = 0;
    const all = new Promise((resolve) => {
      for (let i = 0; i < n; i++) {
        const url = new URL('/.well-known/mercure', location.href);
        url.searchParams.append('topic', 'https://example.com/tabs/{id}');
        const es = new EventSource(url);
        es.onopen = () => { if (++open === n) resolve(); };
        es.onmessage = (e) => { window.received[i] = e.data; };
        window.sources.push(es);
      }
    });
    await Promise.race([all, new Promise((r) => setTimeout(r, within))]);
    return open;
  }, { n, within });
}

const dir = mkdtempSync(join(tmpdir(), 'herald-https-'));
const { cert, key, home } = makeCa(dir);
const tls = await startHerald(['--ui', '--allow-anonymous', '--cert-file', cert, '--key-file', key]);
const plain = await startHerald(['--ui', '--allow-anonymous']);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  env: { ...process.env, HOME: home },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  // HTTPS: the page loads over HTTP/2 with a certificate Chromium trusts (no error ignored).
  const page = await browser.newPage();
  const origin = `https://127.0.0.1:${tls.port}`;
  await page.goto(origin + '/.well-known/mercure/ui/');
  const protocol = await page.evaluate(() => performance.getEntriesByType('navigation')[0].nextHopProtocol);
  if (protocol !== 'h2') fail('the page should come over HTTP/2, got ' + protocol);
  const opened = await openEventSources(page, 10, 15000);
  if (opened !== 10) fail(`10 EventSources should open over HTTP/2, ${opened} did`);

  const res = await fetch(`http://127.0.0.1:${plain.port}/healthz`);  // (the plain hub is up)
  if (res.status !== 200) fail('plain hub: ' + res.status);
  // Publish over HTTPS from the page itself (fetch, HTTP/2), with a publisher token.
  const status = await page.evaluate(async (jwt) => {
    const r = await fetch('/.well-known/mercure', {
      method: 'POST', headers: { Authorization: 'Bearer ' + jwt },
      body: new URLSearchParams({ topic: 'https://example.com/tabs/1', data: 'to every tab' }),
    });
    return r.status;
  }, token({ mercure: { publish: ['*'] } }));
  if (status !== 200) fail('publish over HTTP/2 answered ' + status);
  await page.waitForFunction(() => window.received.every((d) => d === 'to every tab'), null, { timeout: 15000 })
    .catch(() => fail('not every EventSource received the update'));

  // Plain HTTP/1.1: 6 connections per origin, so of 7 EventSources one waits.
  const page2 = await browser.newPage();
  await page2.goto(`http://127.0.0.1:${plain.port}/.well-known/mercure/ui/`);
  const opened2 = await openEventSources(page2, 7, 3000);
  if (opened2 !== 6) fail(`over HTTP/1.1 exactly 6 of 7 EventSources should open, ${opened2} did`);
  if (!process.exitCode) console.log(`ok: HTTPS page over ${protocol}, 10/10 EventSources open and received; HTTP/1.1 ${opened2}/7`);
} catch (e) {
  fail(e.stack || String(e));
} finally {
  await browser.close();
  await stopHerald(tls);
  await stopHerald(plain);
  clearTimeout(watchdog);
}
