// Presence in the browser: one tab watches subscription events (token in the
// `authorization` query parameter, as EventSource cannot set headers) and sees another
// tab's subscription appear, then disappear when that tab closes.
import { fail, launchChromium, startHerald, startPageServer, stopHerald, token } from './support.mjs';

const watchdog = setTimeout(() => { fail('deadline exceeded'); process.exit(1); }, 60000);
const pageServer = await startPageServer();
const pageOrigin = `http://127.0.0.1:${pageServer.address().port}`;
const herald = await startHerald(['--allow-anonymous', '--subscriptions', '--cors-allowed-origins', pageOrigin]);
const browser = await launchChromium();
const watcherToken = token({ mercure: { subscribe: ['/.well-known/mercure/subscriptions{/topic}{/subscriber}'] } });
try {
  const hub = `http://127.0.0.1:${herald.port}/.well-known/mercure`;
  const watcher = await browser.newPage();
  await watcher.goto(pageOrigin + '/');
  await watcher.evaluate(([hubUrl, jwt]) => {
    window.events = [];
    const url = new URL(hubUrl);
    url.searchParams.append('topic', '/.well-known/mercure/subscriptions{/topic}{/subscriber}');
    url.searchParams.append('authorization', jwt);
    const es = new EventSource(url);
    es.onmessage = (e) => window.events.push(JSON.parse(e.data));
    window.opened = new Promise((resolve) => { es.onopen = () => resolve(true); });
  }, [hub, watcherToken]);
  await watcher.waitForFunction(() => window.opened, null, { timeout: 15000 });

  const other = await browser.newPage();
  await other.goto(pageOrigin + '/');
  await other.evaluate((hubUrl) => {
    const url = new URL(hubUrl);
    url.searchParams.append('topic', 'https://example.com/room/1');
    window.es = new EventSource(url);
    window.opened = new Promise((resolve) => { window.es.onopen = () => resolve(true); });
  }, hub);
  await other.waitForFunction(() => window.opened, null, { timeout: 15000 });
  await watcher.waitForFunction(
    () => window.events.some((e) => e.topic === 'https://example.com/room/1' && e.active), null, { timeout: 15000 });
  await other.close();
  await watcher.waitForFunction(
    () => window.events.some((e) => e.topic === 'https://example.com/room/1' && !e.active), null, { timeout: 15000 });
  const events = await watcher.evaluate(() => window.events.filter((e) => e.topic === 'https://example.com/room/1'));
  if (events.length !== 2 || events[0].subscriber !== events[1].subscriber || events[0].type !== 'Subscription')
    fail('expected one active and one inactive event for the same subscriber, got ' + JSON.stringify(events));
  if (!process.exitCode) console.log("ok: the watcher saw the other tab's subscription appear and disappear");
} catch (e) {
  fail(e.stack || String(e));
} finally {
  await browser.close();
  await stopHerald(herald);
  pageServer.close();
  clearTimeout(watchdog);
}
