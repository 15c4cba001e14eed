// The raftlog web console: one page per hash (#/cluster, #/topics, #/messages, #/groups,
// #/charts), each drawn from the node's JSON API (/api/..., src/console/api.ts). Plain ES modules
// and the DOM; uPlot draws the charts. Every text from the cluster goes in as text, never as HTML.
// When a page has drawn what it fetched, body[data-ready] names it (the browser test waits on it).
// Under --auth sasl the API answers 401 until the browser has logged in: the page then shows its
// login form, which posts to /auth/login; the node answers with a session cookie (HttpOnly, so
// this script never sees it) that every later call carries (src/server/http-auth.ts).
import uPlot from './vendor/uPlot.esm.js';

const main = document.getElementById('page');
const errorBox = document.getElementById('error');
/** Timers of the page shown; cleared when another is shown. */
let timers = [];
/** Charts of the page shown; destroyed when another is shown. */
let plots = [];

/** The API answered 401: the login form is shown instead of the page. */
class LoginNeeded extends Error {}

/** A JSON request to the node (`/api...`, `/auth/...`): the body, or an Error with the node's code and message. */
async function call(url, opts = {}) {
  const init = opts.body === undefined ? opts : { ...opts, method: opts.method ?? 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(opts.body) };
  const res = await fetch(url, init);
  let body;
  try {
    body = await res.json();
  } catch {
    throw new Error(`${res.status} ${res.statusText}`);
  }
  if (!res.ok) {
    const err = new Error(body.error ? `${body.error.code}: ${body.error.message}` : `${res.status} ${res.statusText}`);
    err.status = res.status;
    throw err;
  }
  return body;
}

/** Calls the API; throws an Error with the node's message on a failure, and shows the login form on a 401. */
async function api(path, opts = {}) {
  try {
    return await call(`/api${path}`, opts);
  } catch (err) {
    if (err.status === 401) {
      showLogin(err.message);
      throw new LoginNeeded(err.message);
    }
    throw err;
  }
}

/** An element: h('td', {class: 'num'}, 'text', child...). Strings become text nodes. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

function table(headers, rows, attrs = {}) {
  return h('table', attrs, h('thead', {}, h('tr', {}, headers.map((x) => h('th', {}, x)))), h('tbody', {}, rows));
}

const tag = (text, kind = '') => h('span', { class: `tag ${kind}` }, text);
const num = (v) => h('td', { class: 'num' }, v === null || v === undefined ? '-' : String(v));

function bytes(n) {
  if (n === null || n === undefined) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

function duration(ms) {
  if (ms === null || ms === undefined || ms < 0) return '-';
  const s = Math.floor(ms / 1000);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

function showError(err) {
  errorBox.hidden = err === null;
  errorBox.textContent = err === null ? '' : String(err.message ?? err);
}

function ready(name) {
  document.body.dataset.ready = name;
}

// ------------------------------------------------------------------------------------------------
// Bytes as text, JSON or hex

function fromBase64(s) {
  if (s === null) return null;
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

function render(b64, format) {
  const b = fromBase64(b64);
  if (b === null) return '(null)';
  if (format === 'hex') return [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');
  const text = utf8.decode(b);
  if (format === 'json') {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      return `${text}  (not JSON)`;
    }
  }
  return text;
}

// ------------------------------------------------------------------------------------------------
// Cluster

async function clusterPage() {
  const c = await api('/cluster');
  const rows = c.nodes.map((n) =>
    h(
      'tr',
      { class: n.state !== 'up' || (n.stopped ?? 0) > 0 ? 'bad' : '', 'data-node': n.id },
      h('td', {}, n.id, ' ', n.controller ? tag('controller', 'ok') : ''),
      h('td', {}, n.address),
      h('td', {}, n.state === 'up' ? tag('up', 'ok') : tag(n.state, 'bad')),
      h('td', {}, n.incarnation ?? '-'),
      h('td', {}, duration(n.uptimeMs)),
      num(n.replicas),
      num(n.leaders),
      num(n.learners),
      num(n.rejoining),
      num(n.stopped),
      h('td', { class: 'num' }, bytes(n.diskBytes)),
      h('td', {}, n.error ?? ''),
    ),
  );
  const m = c.moves;
  const moves = [];
  if (m === null) moves.push(h('p', { class: 'muted' }, 'The controller did not answer: moves unknown.'));
  else {
    moves.push(
      h('p', { id: 'moves-summary' }, `${m.moving.length} partition(s) moving, ${m.waiting} waiting for a slot, ${m.blocked.length} blocked`, m.rebalance ? `; a rebalance runs (${m.rebalance.maxMoves} at once)` : ''),
    );
    if (m.moving.length > 0) moves.push(table(['Moving partition', 'Step (its leader says)'], m.moving.map((p) => h('tr', {}, h('td', {}, p), h('td', {}, c.steps[p] ?? '-')))));
    if (m.blocked.length > 0) moves.push(table(['Blocked partition', 'Why'], m.blocked.map((b) => h('tr', { class: 'warn' }, h('td', {}, `${b.topic}/${b.partition}`), h('td', {}, b.why)))));
    if (m.decommissions.length > 0) moves.push(table(['Leaving node', 'Step'], m.decommissions.map((d) => h('tr', {}, h('td', {}, d.node), h('td', {}, d.step)))));
    moves.push(
      table(
        ['Node', 'Lifecycle', 'Live', 'Metadata group'],
        m.nodes.map((n) => h('tr', { class: n.dead ? 'bad' : '' }, h('td', {}, n.id), h('td', {}, n.state), h('td', {}, n.live ? 'yes' : `no${n.downMs !== undefined ? ` (${duration(n.downMs)})` : ''}`), h('td', {}, n.meta))),
      ),
    );
  }
  if (c.transfers.length > 0) {
    moves.push(h('h3', {}, 'Catch-up transfers'));
    moves.push(table(['Node', 'Group', 'Peer', 'Direction', 'Bytes', 'For'], c.transfers.map((t) => h('tr', {}, h('td', {}, t.node), h('td', {}, t.group), h('td', {}, t.peer), h('td', {}, t.direction), h('td', { class: 'num' }, bytes(t.bytes)), h('td', {}, duration(t.ms))))));
  }
  const stopped = c.stopped.length === 0 ? [] : [h('h3', {}, 'Stopped groups'), table(['Node', 'Group', 'Error'], c.stopped.map((s) => h('tr', { class: 'bad' }, h('td', {}, s.node), h('td', {}, s.group), h('td', {}, s.error))))];
  main.replaceChildren(
    h('h2', {}, 'Cluster ', h('span', { class: 'muted', id: 'controller' }, c.controller === null ? 'no controller' : `controller ${c.controller}`)),
    table(['Node', 'Address', 'State', 'Disk incarnation', 'Up', 'Replicas', 'Leaders', 'Learners', 'Rejoining', 'Stopped', 'Disk', 'Problem'], rows, { id: 'nodes' }),
    ...stopped,
    h('h3', {}, 'Membership moves'),
    ...moves,
    h('button', { class: 'secondary', onclick: () => void show() }, 'Refresh'),
  );
  ready('cluster');
}

// ------------------------------------------------------------------------------------------------
// Topics

function retention(cfg) {
  const ms = cfg.retentionMs < 0 ? 'forever' : duration(cfg.retentionMs);
  const b = cfg.retentionBytes < 0 ? 'no size limit' : `${bytes(cfg.retentionBytes)} per partition`;
  return `${ms}, ${b}`;
}

async function topicsPage() {
  const { topics, clusterView } = await api('/topics');
  const form = h(
    'form',
    { class: 'inline', id: 'create-topic' },
    h('label', {}, 'Name', h('input', { name: 'name', required: true, pattern: '[a-zA-Z0-9._-]{1,249}' })),
    h('label', {}, 'Partitions', h('input', { name: 'partitions', type: 'number', min: 1, value: '3', style: 'width:6em' })),
    h('label', {}, 'Replication factor', h('input', { name: 'replicationFactor', type: 'number', min: 1, value: '3', style: 'width:6em' })),
    h('label', {}, 'Retention (ms, -1: forever)', h('input', { name: 'retentionMs', type: 'number', min: -1, placeholder: 'default' })),
    h('button', { type: 'submit' }, 'Create topic'),
  );
  const result = h('div', { class: 'result', id: 'create-result' });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const f = new FormData(form);
    const body = { name: f.get('name'), partitions: Number(f.get('partitions')), replicationFactor: Number(f.get('replicationFactor')), config: f.get('retentionMs') ? { retentionMs: Number(f.get('retentionMs')) } : {} };
    api('/topics', { body })
      .then(() => show())
      .catch((err) => (result.textContent = err.message));
  });
  const sections = topics.map((t) => {
    const bad = t.partitions.filter((p) => p.underReplicated || p.stopped.length > 0).length;
    const rows = t.partitions.map((p) =>
      h(
        'tr',
        { class: p.stopped.length > 0 || p.leader === null ? 'bad' : p.underReplicated ? 'warn' : '', 'data-partition': p.partition },
        num(p.partition),
        h('td', { class: 'leader' }, p.leader ?? tag('no leader', 'bad')),
        h('td', {}, p.replicas.join(', ')),
        h('td', {}, p.replicaLag.map((r) => `${r.id}: ${r.lag === null ? '?' : r.lag}${r.state !== 'leader' && !String(r.state).startsWith('replicate') ? ` (${r.state})` : ''}`).join(', ')),
        num(p.highWatermark),
        num(p.logStartOffset),
        h('td', { class: 'num' }, bytes(p.bytes)),
        h('td', {}, p.stopped.length > 0 ? tag(`stopped on ${p.stopped.join(', ')}`, 'bad') : p.underReplicated === null ? tag('unknown') : p.underReplicated ? tag('under-replicated', 'warn') : tag('ok', 'ok'), p.move ? ` move: ${p.move}` : ''),
        h('td', {}, h('a', { href: `#/messages?topic=${encodeURIComponent(t.name)}&partition=${p.partition}` }, 'messages')),
      ),
    );
    return h(
      'section',
      { 'data-topic': t.name },
      h('h3', {}, t.name, ' ', h('span', { class: 'muted' }, `${t.partitions.length} partition(s), replication factor ${t.replicationFactor}, retention ${retention(t.config)}`), ' ', bad > 0 ? tag(`${bad} need attention`, 'warn') : ''),
      table(['Partition', 'Leader', 'Replicas', 'Lag behind leader (entries)', 'High watermark', 'Log start', 'Size', 'State', ''], rows),
    );
  });
  const hidden = clusterView === false ? h('p', { class: 'muted', id: 'no-cluster-view' }, 'Replica state and offsets need describe on the cluster, which your user does not have.') : '';
  main.replaceChildren(h('h2', {}, 'Topics'), form, result, hidden, topics.length === 0 ? h('p', { class: 'muted' }, 'No topics yet.') : '', ...sections);
  ready('topics');
}

// ------------------------------------------------------------------------------------------------
// Messages

function hashParams() {
  const q = location.hash.split('?')[1] ?? '';
  return new URLSearchParams(q);
}

function messageRows(messages, format) {
  return messages.map((m) =>
    h(
      'tr',
      { 'data-offset': m.offset },
      num(m.offset),
      h('td', {}, new Date(m.timestamp).toISOString()),
      h('td', { class: 'key' }, h('pre', { class: 'cell' }, render(m.key, format))),
      h('td', { class: 'headers' }, h('pre', { class: 'cell' }, m.headers.map((x) => `${x.key}: ${render(x.value, format)}`).join('\n'))),
      h('td', { class: 'value' }, h('pre', { class: 'cell' }, render(m.value, format))),
    ),
  );
}

async function messagesPage() {
  const q = hashParams();
  const { topics } = await api('/topics');
  const topic = q.get('topic') ?? topics[0]?.name ?? '';
  const t = topics.find((x) => x.name === topic);
  const format = q.get('format') ?? 'text';
  const browse = h(
    'form',
    { class: 'inline', id: 'browse' },
    h('label', {}, 'Topic', h('select', { name: 'topic' }, topics.map((x) => h('option', { value: x.name, selected: x.name === topic }, x.name)))),
    h('label', {}, 'Partition', h('select', { name: 'partition' }, (t?.partitions ?? []).map((p) => h('option', { value: p.partition, selected: String(p.partition) === (q.get('partition') ?? '0') }, String(p.partition))))),
    h('label', {}, 'From offset', h('input', { name: 'offset', type: 'number', min: 0, value: q.get('offset') ?? '', placeholder: 'latest', style: 'width:8em' })),
    h('label', {}, 'or from time', h('input', { name: 'timestamp', type: 'datetime-local', step: 1, value: q.get('timestamp') ?? '' })),
    h('label', {}, 'Records', h('input', { name: 'limit', type: 'number', min: 1, max: 500, value: q.get('limit') ?? '50', style: 'width:6em' })),
    h('label', {}, 'Show as', h('select', { name: 'format' }, ['text', 'json', 'hex'].map((f) => h('option', { value: f, selected: f === format }, f)))),
    h('button', { type: 'submit' }, 'Browse'),
  );
  browse.addEventListener('submit', (e) => {
    e.preventDefault();
    const f = new FormData(browse);
    const p = new URLSearchParams();
    for (const k of ['topic', 'partition', 'offset', 'limit', 'format']) if (f.get(k)) p.set(k, String(f.get(k)));
    if (f.get('timestamp')) p.set('timestamp', String(f.get('timestamp')));
    location.hash = `#/messages?${p}`;
  });
  const partition = q.get('partition') ?? '0';
  let list = h('p', { class: 'muted' }, 'No topic to browse.');
  if (t !== undefined) {
    const p = new URLSearchParams({ topic, partition, limit: q.get('limit') ?? '50' });
    if (q.get('timestamp')) p.set('timestamp', String(new Date(q.get('timestamp')).getTime()));
    else if (q.get('offset')) p.set('offset', q.get('offset'));
    try {
      const r = await api(`/messages?${p}`);
      list = h(
        'div',
        {},
        h('p', { class: 'muted', id: 'range' }, `${topic}/${partition}: log ${r.logStartOffset}..${r.highWatermark}, showing ${r.messages.length} record(s) from offset ${r.from}`),
        table(['Offset', 'Time', 'Key', 'Headers', 'Value'], messageRows(r.messages, format), { id: 'messages' }),
      );
    } catch (err) {
      list = h('p', { class: 'error', id: 'browse-error' }, err.message);
    }
  }
  const searchForm = h(
    'form',
    { class: 'inline', id: 'search' },
    h('label', {}, 'Key contains', h('input', { name: 'key' })),
    h('label', {}, 'Value contains', h('input', { name: 'value' })),
    h('label', {}, 'From offset', h('input', { name: 'offset', type: 'number', min: 0, placeholder: 'log start', style: 'width:8em' })),
    h('label', {}, 'Read at most (MiB)', h('input', { name: 'mib', type: 'number', min: 1, max: 64, value: '16', style: 'width:6em' })),
    h('button', { type: 'submit' }, 'Search on the server'),
  );
  const searchResult = h('div', { class: 'result', id: 'search-result' });
  searchForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const f = new FormData(searchForm);
    const body = { topic, partition: Number(partition), key: f.get('key') || undefined, value: f.get('value') || undefined, offset: f.get('offset') ? Number(f.get('offset')) : undefined, maxBytes: Number(f.get('mib')) * 1024 * 1024 };
    searchResult.textContent = 'searching...';
    api('/search', { body })
      .then((r) => {
        searchResult.replaceChildren(
          h('p', { id: 'search-summary' }, `${r.matches.length} match(es) in offsets ${r.from}..${r.to} (${r.scannedRecords} records, ${bytes(r.scannedBytes)}, ${r.ms} ms); stopped by ${r.stoppedBy === 'end' ? 'the end of the range' : `the ${r.stoppedBy} limit`}`),
          table(['Offset', 'Time', 'Key', 'Headers', 'Value'], messageRows(r.matches, format), { id: 'search-matches' }),
        );
      })
      .catch((err) => (searchResult.textContent = err.message));
  });
  const produceForm = h(
    'form',
    { class: 'inline', id: 'produce' },
    h('label', {}, 'Key', h('input', { name: 'key' })),
    h('label', {}, 'Headers (k=v, one a line)', h('textarea', { name: 'headers', rows: 2, cols: 24 })),
    h('label', {}, 'Value', h('textarea', { name: 'value', rows: 2, cols: 40 })),
    h('label', {}, 'Partition', h('input', { name: 'partition', type: 'number', min: 0, value: partition, style: 'width:6em' })),
    h('button', { type: 'submit' }, 'Produce test record'),
  );
  const produceResult = h('div', { class: 'result', id: 'produce-result' });
  produceForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const f = new FormData(produceForm);
    const headers = {};
    for (const line of String(f.get('headers') ?? '').split('\n')) {
      const i = line.indexOf('=');
      if (i > 0) headers[line.slice(0, i).trim()] = line.slice(i + 1);
    }
    const body = { topic, partition: f.get('partition') === '' ? undefined : Number(f.get('partition')), key: f.get('key') || undefined, value: String(f.get('value') ?? ''), headers };
    api('/produce', { body })
      .then((r) => (produceResult.textContent = `written to ${r.topic}/${r.partition} at offset ${r.offset}`))
      .catch((err) => (produceResult.textContent = err.message));
  });
  main.replaceChildren(h('h2', {}, 'Messages'), browse, list, h('h3', {}, 'Search'), searchForm, searchResult, h('h3', {}, 'Produce'), produceForm, produceResult);
  ready('messages');
}

// ------------------------------------------------------------------------------------------------
// Consumer groups

/** Total lag of each group seen since the page opened, for its chart: group -> [[t], [lag]]. */
const lagHistory = new Map();

async function groupsPage() {
  const q = hashParams();
  const { groups } = await api('/groups');
  const rows = groups.map((g) =>
    h('tr', { 'data-group': g.groupId }, h('td', {}, h('a', { href: `#/groups?group=${encodeURIComponent(g.groupId)}` }, g.groupId)), h('td', {}, g.state), num(g.members), h('td', {}, g.protocolType || '-')),
  );
  const parts = [h('h2', {}, 'Consumer groups'), groups.length === 0 ? h('p', { class: 'muted' }, 'No consumer groups yet.') : table(['Group', 'State', 'Members', 'Protocol'], rows, { id: 'groups' })];
  const id = q.get('group');
  if (id !== null) parts.push(await groupSection(id));
  main.replaceChildren(...parts);
  if (id !== null) drawLagChart(id);
  ready('groups');
}

async function groupSection(id) {
  const r = await api(`/groups/${encodeURIComponent(id)}`);
  const g = r.group;
  const hist = lagHistory.get(id) ?? [[], []];
  hist[0].push(Date.now() / 1000);
  hist[1].push(r.totalLag);
  lagHistory.set(id, hist);
  const members = g.members.map((m) =>
    h('tr', {}, h('td', {}, m.memberId, m.memberId === g.leader ? ' (leader)' : ''), h('td', {}, m.clientId), h('td', {}, m.assignment === null ? '(not the consumer protocol)' : m.assignment.map((l) => `${l.topic}: ${l.partitions.join(',')}`).join('; ') || '(none)')),
  );
  const offsets = r.partitions.map((p) =>
    h(
      'tr',
      { 'data-tp': `${p.topic}/${p.partition}` },
      h('td', {}, p.topic),
      num(p.partition),
      h('td', { class: 'num committed' }, p.committed === null ? '-' : String(p.committed)),
      num(p.highWatermark),
      h('td', { class: 'num lag' }, p.lag === null ? '-' : String(p.lag)),
      h('td', { class: 'num' }, p.lagSeconds === null ? '-' : p.lagSeconds.toFixed(1)),
      h('td', {}, p.member ?? '-'),
    ),
  );
  const topics = [...new Set(r.partitions.map((p) => p.topic))];
  const empty = g.state === 'Empty';
  const reset = h(
    'form',
    { class: 'inline', id: 'reset' },
    h('label', {}, 'Topic', h('select', { name: 'topic' }, topics.map((t) => h('option', { value: t }, t)))),
    h('label', {}, 'To', h('select', { name: 'to' }, ['earliest', 'latest', 'timestamp', 'offset'].map((t) => h('option', { value: t }, t)))),
    h('label', {}, 'Offset or time', h('input', { name: 'at', placeholder: 'offset, or 2024-05-01T12:00:00Z' })),
    h('button', { type: 'submit', disabled: !empty }, 'Reset offsets'),
    empty ? '' : h('span', { class: 'muted' }, 'Only an empty group can be reset: stop its consumers first.'),
  );
  const resetResult = h('div', { class: 'result', id: 'reset-result' });
  reset.addEventListener('submit', (e) => {
    e.preventDefault();
    const f = new FormData(reset);
    const kind = f.get('to');
    const at = String(f.get('at') ?? '');
    const to = kind === 'offset' ? { offset: Number(at) } : kind === 'timestamp' ? { timestamp: /^\d+$/.test(at) ? Number(at) : at } : kind;
    api(`/groups/${encodeURIComponent(id)}/reset`, { body: { topic: f.get('topic'), to } })
      .then(() => show())
      .catch((err) => (resetResult.textContent = err.message));
  });
  return h(
    'section',
    { id: 'group', 'data-group': id },
    h('h3', {}, `Group ${g.groupId}: ${g.state}, generation ${g.generation}, assignor ${g.protocol || '-'}, total lag ${r.totalLag}`),
    g.members.length > 0 ? table(['Member', 'Client', 'Partitions'], members) : h('p', { class: 'muted' }, 'No members.'),
    r.partitions.length > 0 ? table(['Topic', 'Partition', 'Committed', 'High watermark', 'Lag (records)', 'Lag (seconds)', 'Member'], offsets, { id: 'offsets' }) : h('p', { class: 'muted' }, 'No committed offsets and no assigned partitions.'),
    r.problems.map((p) => h('p', { class: 'error' }, p)),
    h('div', { class: 'chart', id: 'lag-chart' }),
    h('h3', {}, 'Reset offsets'),
    reset,
    resetResult,
  );
}

function drawLagChart(id) {
  const el = document.getElementById('lag-chart');
  const data = lagHistory.get(id);
  if (el === null || data === undefined) return;
  if (data[0].length < 2) el.replaceChildren(h('p', { class: 'muted' }, 'Lag over time: a sample every 5 s while this page is open.'));
  else plots.push(new uPlot({ title: `Total lag of ${id} (records), since this page opened`, width: Math.min(900, main.clientWidth - 40), height: 180, series: [{}, { label: 'lag', stroke: '#c62828' }] }, data, el));
  timers.push(setTimeout(() => void show(true), 5000));
}

// ------------------------------------------------------------------------------------------------
// Charts

function rates(samples, field) {
  const out = [];
  for (let i = 1; i < samples.length; i++) {
    const dt = (samples[i].t - samples[i - 1].t) / 1000;
    out.push(dt > 0 ? Math.max(0, (samples[i][field] - samples[i - 1][field]) / dt) : 0);
  }
  return out;
}

async function chartsPage() {
  const s = await api('/samples');
  const samples = s.samples;
  const t = samples.slice(1).map((x) => x.t / 1000);
  const width = Math.max(320, Math.min(1000, main.clientWidth - 40));
  const boxes = [h('div', { class: 'chart', id: 'chart-bytes' }), h('div', { class: 'chart', id: 'chart-requests' }), h('div', { class: 'chart', id: 'chart-lag' })];
  const span = samples.length < 2 ? 0 : samples[samples.length - 1].t - samples[0].t;
  main.replaceChildren(h('h2', {}, `Node ${s.node}: the last ${duration(span)}`, h('span', { class: 'muted' }, ` (a sample every ${s.everyMs / 1000} s, kept in the node's memory)`)), h('div', { class: 'charts' }, boxes));
  const kib = (v) => v / 1024;
  plots.push(
    new uPlot(
      { title: 'Produced and fetched (KiB/s)', width, height: 220, series: [{}, { label: 'produced', stroke: '#2f6fdf' }, { label: 'fetched', stroke: '#2e7d32' }] },
      [t, rates(samples, 'producedBytes').map(kib), rates(samples, 'fetchedBytes').map(kib)],
      boxes[0],
    ),
  );
  plots.push(
    new uPlot(
      { title: 'Produce and fetch requests (per second, client listeners)', width, height: 220, series: [{}, { label: 'produce', stroke: '#2f6fdf' }, { label: 'fetch', stroke: '#2e7d32' }] },
      [t, rates(samples, 'produceRequests'), rates(samples, 'fetchRequests')],
      boxes[1],
    ),
  );
  plots.push(new uPlot({ title: 'Replica lag of the groups this node leads (entries)', width, height: 220, series: [{}, { label: 'lag', stroke: '#c62828' }] }, [t, samples.slice(1).map((x) => x.replicaLag)], boxes[2]));
  timers.push(setTimeout(() => void show(true), s.everyMs));
  ready('charts');
}

// ------------------------------------------------------------------------------------------------

const PAGES = { cluster: clusterPage, topics: topicsPage, messages: messagesPage, groups: groupsPage, charts: chartsPage };

// ------------------------------------------------------------------------------------------------
// Logging in (--auth sasl)

/** Who is logged in, in the header, with a button to log out (under --auth sasl). */
function showUser(session) {
  const who = document.getElementById('who');
  const out = document.getElementById('logout');
  const user = session !== null && session.auth === 'sasl';
  who.textContent = user ? session.principal.replace(/^User:/, '') : '';
  out.hidden = !user || session.via !== 'cookie';
}

/** The login form, instead of the page; `why`: what the node said. */
function showLogin(why) {
  for (const t of timers) clearTimeout(t);
  timers = [];
  showUser(null);
  showError(null);
  const error = h('p', { class: 'error', id: 'login-error', hidden: true });
  const form = h(
    'form',
    { class: 'login', id: 'login' },
    h('h2', {}, 'Log in'),
    h('p', { class: 'muted' }, 'This node requires a user (--auth sasl): the name and password of a user created with raftlog users create.'),
    h('label', {}, 'User', h('input', { name: 'username', autocomplete: 'username', required: true })),
    h('label', {}, 'Password', h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true })),
    h('button', { type: 'submit' }, 'Log in'),
    error,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const f = new FormData(form);
    call('/auth/login', { body: { username: f.get('username'), password: f.get('password') } })
      .then(() => start())
      .catch((err) => {
        error.hidden = false;
        error.textContent = err.message;
        ready('login-failed');
      });
  });
  main.replaceChildren(form);
  if (why !== undefined && !/AUTHENTICATION_REQUIRED: this node requires/.test(why)) {
    error.hidden = false;
    error.textContent = why;
  }
  ready('login');
}

document.getElementById('logout').addEventListener('click', () => {
  call('/auth/logout', { method: 'POST' })
    .catch(() => undefined)
    .then(() => showLogin());
});

// ------------------------------------------------------------------------------------------------

/** Draws the page the hash names. `again`: a refresh of the same page (its errors leave it shown). */
async function show(again = false) {
  for (const t of timers) clearTimeout(t);
  timers = [];
  const name = (location.hash.replace(/^#\//, '').split('?')[0] || 'cluster').toLowerCase();
  const page = PAGES[name] ?? clusterPage;
  for (const a of document.querySelectorAll('header nav a')) a.classList.toggle('active', a.dataset.page === name);
  if (!again) delete document.body.dataset.ready;
  try {
    const before = plots;
    plots = [];
    await page();
    for (const p of before) p.destroy();
    showError(null);
  } catch (err) {
    if (err instanceof LoginNeeded) return;
    showError(err);
    if (!again) main.replaceChildren();
    ready(`${name}-error`);
  }
}

/** Asks the node who this browser is: the page the hash names, or the login form. */
async function start() {
  let session;
  try {
    session = await call('/auth/session');
  } catch (err) {
    if (err.status === 401) return showLogin(err.message);
    session = null;
  }
  showUser(session);
  await show();
}

window.addEventListener('hashchange', () => void show());
call('/health')
  .then((s) => (document.getElementById('node').textContent = `served by node ${s.node}`))
  .catch(() => undefined);
void start();
