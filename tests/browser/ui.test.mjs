// The debug UI (/.well-known/mercure/ui/) in headless Chromium against the real herald binary:
// subscribe from the page, publish from its form and see the event arrive, resume with
// Last-Event-ID, list the subscriptions, see the cluster. A screenshot goes to the test's output.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fail, launchChromium, publish, startHerald, stopHerald, token } from './support.mjs';

const watchdog = setTimeout(() => { fail('deadline exceeded'); process.exit(1); }, 90000);
const herald = await startHerald(['--ui', '--subscriptions']);
const browser = await launchChromium();
const outDir = process.env.HERALD_TEST_OUTPUT || new URL('../../build/test-output', import.meta.url).pathname;
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('response', (r) => { if (r.status() >= 400) errors.push(r.status() + ' ' + r.url()); });
  await page.goto(`http://127.0.0.1:${herald.port}/.well-known/mercure/ui`);  // redirected to .../ui/
  if (!page.url().endsWith('/.well-known/mercure/ui/')) fail('no redirect to the trailing slash: ' + page.url());

  // Subscribe with a token (the hub has no anonymous access), through the page's form.
  await page.fill('#jwt', token({ mercure: { publish: ['*'], subscribe: ['*'] } }));
  await page.fill('#sub-topics', 'https://example.com/ui/{id}');
  await page.click('#subscribe');
  await page.waitForFunction(() => document.getElementById('sub-status').textContent === 'subscribed', null, { timeout: 15000 });

  // Publish from the page's form: the event arrives in the page's list, with the id the hub answered.
  await page.fill('#pub-topics', 'https://example.com/ui/1');
  await page.fill('#pub-data', 'hello from the page');
  await page.click('#publish');
  await page.waitForFunction(() => document.getElementById('pub-result').textContent.startsWith('published: '), null, { timeout: 15000 });
  const publishedId = (await page.textContent('#pub-result')).slice('published: '.length);
  await page.waitForSelector('#events li', { timeout: 15000 });
  const first = await page.$eval('#events li', (li) => ({ id: li.dataset.id, data: li.querySelector('pre').textContent }));
  if (first.data !== 'hello from the page' || first.id !== publishedId)
    fail(`the published event should arrive with id ${publishedId}, got ${JSON.stringify(first)}`);

  // Unsubscribe, an update is published meanwhile, resume from the first id: it is replayed.
  await page.click('#unsubscribe');
  await publish(herald.port, { topic: 'https://example.com/ui/2', data: 'while away', id: 'away-1' });
  await page.click('#clear-events');
  await page.fill('#sub-last-event-id', publishedId);
  await page.click('#subscribe');
  await page.waitForSelector('#events li[data-id="away-1"]', { timeout: 15000 });

  // The subscriptions API (subscriptions on): the page's own subscription is listed.
  await page.click('#subs-refresh');
  await page.waitForFunction(() => [...document.querySelectorAll('#subs tbody td')]
    .some((td) => td.textContent === 'https://example.com/ui/{id}'), null, { timeout: 15000 });

  // The cluster page: this node, alive.
  await page.click('#cluster-refresh');
  await page.waitForFunction(() => [...document.querySelectorAll('#cluster tbody td')]
    .some((td) => td.textContent.endsWith('(this node)')), null, { timeout: 15000 });

  mkdirSync(outDir, { recursive: true });
  const shot = join(outDir, 'debug-ui.png');
  await page.screenshot({ path: shot, fullPage: true });
  console.log('screenshot: ' + shot);
  if (errors.length) fail('the page logged errors: ' + errors.join('; '));
  if (!process.exitCode) console.log('ok: the debug UI subscribed, published, resumed, listed subscriptions and the cluster');
} catch (e) {
  fail(e.stack || String(e));
} finally {
  await browser.close();
  await stopHerald(herald);
  clearTimeout(watchdog);
}
