// Herald's debug UI: subscribe (EventSource), publish (fetch), list subscriptions, see the cluster.
// Plain DOM code, served by the hub from the same origin (its Content-Security-Policy is
// default-src 'self': no inline script, no other origin).
'use strict';

const HUB = new URL('..', location.href).pathname.replace(/\/$/, '');  // /.well-known/mercure
const $ = (id) => document.getElementById(id);
let source = null;

function lines(text) { return text.split('\n').map((s) => s.trim()).filter(Boolean); }
function token() { return $('jwt').value.trim(); }
function setStatus(el, text, kind) { el.textContent = text; el.className = 'status' + (kind ? ' ' + kind : ''); }
function cell(row, text) { const td = document.createElement('td'); td.textContent = text; row.appendChild(td); }

function addEvent(e) {
  const li = document.createElement('li');
  li.dataset.id = e.lastEventId;
  const meta = document.createElement('div');
  meta.className = 'meta';
  meta.textContent = `${new Date().toLocaleTimeString()}  id=${e.lastEventId}  type=${e.type}`;
  const data = document.createElement('pre');
  data.textContent = e.data;
  li.append(meta, data);
  $('events').prepend(li);
}

function subscribe(ev) {
  ev.preventDefault();
  if (source) source.close();
  const url = new URL(HUB, location.href);
  for (const t of lines($('sub-topics').value)) url.searchParams.append('topic', t);
  const last = $('sub-last-event-id').value.trim();
  if (last) url.searchParams.set('lastEventID', last);
  if (token()) url.searchParams.set('authorization', token());
  source = new EventSource(url);
  setStatus($('sub-status'), 'connecting…');
  source.onopen = () => setStatus($('sub-status'), 'subscribed', 'ok');
  source.onerror = () => setStatus($('sub-status'), source.readyState === EventSource.CLOSED ? 'closed (refused?)' : 'reconnecting…', 'error');
  source.onmessage = addEvent;
  // Typed events: listen for the types the publish form uses.
  const type = $('pub-type').value.trim();
  if (type) source.addEventListener(type, addEvent);
  $('unsubscribe').disabled = false;
}

function unsubscribe() {
  if (source) source.close();
  source = null;
  setStatus($('sub-status'), 'not subscribed');
  $('unsubscribe').disabled = true;
}

async function publish(ev) {
  ev.preventDefault();
  const body = new URLSearchParams();
  for (const t of lines($('pub-topics').value)) body.append('topic', t);
  body.set('data', $('pub-data').value);
  for (const [field, id] of [['id', 'pub-id'], ['type', 'pub-type'], ['retry', 'pub-retry']])
    if ($(id).value.trim()) body.set(field, $(id).value.trim());
  if ($('pub-private').checked) body.set('private', 'on');
  const headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
  if (token()) headers.Authorization = 'Bearer ' + token();
  try {
    const res = await fetch(HUB, { method: 'POST', headers, body, credentials: 'same-origin' });
    const text = await res.text();
    if (res.ok) setStatus($('pub-result'), 'published: ' + text, 'ok');
    else setStatus($('pub-result'), `refused: ${res.status} ${text.trim()}`, 'error');
  } catch (e) {
    setStatus($('pub-result'), 'failed: ' + e, 'error');
  }
}

async function refreshSubscriptions() {
  const tbody = $('subs').querySelector('tbody');
  tbody.replaceChildren();
  const headers = token() ? { Authorization: 'Bearer ' + token() } : {};
  const res = await fetch(HUB + '/subscriptions', { headers });
  if (!res.ok) {
    setStatus($('subs-status'), res.status === 404 ? 'subscriptions are off (404)' : `refused: ${res.status}`, 'error');
    return;
  }
  const doc = await res.json();
  for (const s of doc.subscriptions || []) {
    const row = document.createElement('tr');
    cell(row, s.topic);
    cell(row, s.subscriber);
    cell(row, String(s.active));
    tbody.appendChild(row);
  }
  setStatus($('subs-status'), `${(doc.subscriptions || []).length} subscriptions, last event ${doc.lastEventID}`, 'ok');
}

async function refreshCluster() {
  const tbody = $('cluster').querySelector('tbody');
  tbody.replaceChildren();
  const res = await fetch(HUB + '/ui/cluster.json');
  if (!res.ok) {
    setStatus($('cluster-status'), `no cluster status (${res.status})`, 'error');
    return;
  }
  const doc = await res.json();
  for (const n of doc.nodes || []) {
    const row = document.createElement('tr');
    cell(row, n.id + (n.id === doc.node ? ' (this node)' : ''));
    cell(row, n.address);
    cell(row, n.state);
    cell(row, String(n.subscribers));
    cell(row, String(n.lag));
    cell(row, (n.jobs || []).join(', '));
    tbody.appendChild(row);
  }
  setStatus($('cluster-status'), `engine ${doc.cluster.engine}, ${(doc.nodes || []).length} nodes`, 'ok');
}

document.addEventListener('DOMContentLoaded', () => {
  $('jwt').value = localStorage.getItem('herald-ui-jwt') || '';
  $('jwt').addEventListener('change', () => localStorage.setItem('herald-ui-jwt', token()));
  $('subscribe-form').addEventListener('submit', subscribe);
  $('unsubscribe').addEventListener('click', unsubscribe);
  $('clear-events').addEventListener('click', () => $('events').replaceChildren());
  $('publish-form').addEventListener('submit', publish);
  $('subs-refresh').addEventListener('click', refreshSubscriptions);
  $('cluster-refresh').addEventListener('click', refreshCluster);
  refreshCluster();
});
