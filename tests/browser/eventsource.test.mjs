// A page's EventSource (headless Chromium) against the real herald binary:
// it opens, receives a published update, and never receives a private update as an
// anonymous subscriber. The page is served from another origin, so CORS is exercised too.
import { fail, launchChromium, publish, startHerald, startPageServer, stopHerald } from './support.mjs';

const watchdog = setTimeout(() => { fail('deadline exceeded'); process.exit(1); }, 60000);
const pageServer = await startPageServer();
const pageOrigin = `http://127.0.0.1:${pageServer.address().port}`;
const herald = await startHerald(['--allow-anonymous', '--cors-allowed-origins', pageOrigin]);
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  await page.goto(pageOrigin + '/');
  const hub = `http://127.0.0.1:${herald.port}/.well-known/mercure`;
  await page.evaluate((hubUrl) => {
    window.received = [];
    const url = new URL(hubUrl);
    url.searchParams.append('topic', 'https://example.com/books/{id}');
    const es = new EventSource(url);
    es.onmessage = (e) => window.received.push({ id: e.lastEventId, data: e.data });
    es.addEventListener('typed', (e) => window.received.push({ id: e.lastEventId, data: e.data, type: 'typed' }));
    window.opened = new Promise((resolve) => { es.onopen = () => resolve(true); });
  }, hub);
  await page.waitForFunction(() => window.opened, null, { timeout: 15000 });

  await publish(herald.port, { topic: 'https://example.com/books/1', data: 'secret', private: 'on', id: 'private-1' });
  await publish(herald.port, { topic: 'https://example.com/books/1', data: '{"title":"public"}', id: 'public-1' });
  await publish(herald.port, { topic: 'https://example.com/books/2', data: 'typed event', id: 'typed-1', type: 'typed' });
  await page.waitForFunction(() => window.received.length >= 2, null, { timeout: 15000 });
  const received = await page.evaluate(() => window.received);
  // Updates arrive in publish order, so a delivered private update would come first.
  if (received.some((r) => r.id === 'private-1')) fail('anonymous subscriber received a private update');
  if (received[0].id !== 'public-1' || received[0].data !== '{"title":"public"}')
    fail('first message should be public-1, got ' + JSON.stringify(received[0]));
  if (received[1].id !== 'typed-1' || received[1].type !== 'typed')
    fail('typed event should reach addEventListener("typed"), got ' + JSON.stringify(received[1]));
  if (!process.exitCode) console.log('ok: EventSource received public and typed updates, no private update');
} catch (e) {
  fail(e.stack || String(e));
} finally {
  await browser.close();
  await stopHerald(herald);
  pageServer.close();
  clearTimeout(watchdog);
}
