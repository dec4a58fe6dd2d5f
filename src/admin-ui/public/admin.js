// The admin console: calls /oa/*, /admin/cache, /admin/coherence and /admin/app-users with the
// staff token, nothing else. Values from the server are only ever set as textContent, never as HTML.
'use strict';

const $ = (id) => document.getElementById(id);
const STALE_PAGE = 50;
const COHERENCE_EVERY_MS = 5000;
const AUDIT_POLL_MS = 400;

let token = sessionStorage.getItem('staffToken');
let me = null;
let coherenceTimer = null;
/** The audit shown: its id and the offset of the page of stale entries on screen. */
const shownAudit = { id: null, offset: 0, total: 0, found: 0 };

class ApiError extends Error {
  constructor(status, code, msg) {
    super(`${code} ${msg}`);
    Object.assign(this, { status, code, msg });
  }
}

async function api(method, path, body) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let json;
  try {
    json = await res.json();
  } catch {
    throw new ApiError(res.status, res.status, res.statusText || 'not JSON');
  }
  if (!res.ok || json.code !== 200) {
    if (res.status === 401 && path !== '/oa/auth/login') showLogin();
    throw new ApiError(res.status, json.code, json.msg);
  }
  return json.data;
}

function showError(err) {
  const box = $('error');
  box.textContent = err instanceof ApiError ? `Error ${err.code} (HTTP ${err.status}): ${err.msg}` : `Error: ${err.message}`;
  box.hidden = false;
}

function say(text) {
  $('error').hidden = true;
  $('status').textContent = text;
}

/** Runs a UI action: clears the last message, reports failures verbatim. */
function action(fn) {
  return async (event) => {
    event?.preventDefault();
    $('error').hidden = true;
    $('status').textContent = '';
    try {
      await fn();
    } catch (err) {
      showError(err);
    }
  };
}

function confirmDialog(text, verb = 'Delete') {
  const dialog = $('confirm');
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = verb;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true }));
}

/** A Redis key that wraps only after its `:` separators, never inside a name. */
function keyNode(key) {
  const code = document.createElement('code');
  code.className = 'key';
  key.split(/(?<=:)/).forEach((part, i) => {
    if (i > 0) code.appendChild(document.createElement('wbr'));
    code.appendChild(document.createTextNode(part));
  });
  return code;
}

/** A cached value: a row's JSON indented, anything else as it is. */
function valueNode(value) {
  if (value === null) return document.createTextNode('(not a string)');
  let parsed;
  try {
    parsed = JSON.parse(value);
  } catch {
    parsed = undefined;
  }
  const pre = document.createElement('pre');
  pre.className = 'value';
  pre.textContent = parsed !== null && typeof parsed === 'object' ? JSON.stringify(parsed, null, 2) : value;
  return pre;
}

/** Appends a row of cells: strings and numbers as text, DOM nodes as they are. */
function addRow(table, values, numeric = []) {
  const row = table.tBodies[0].insertRow();
  values.forEach((value, i) => {
    const td = row.insertCell();
    if (numeric.includes(i)) td.className = 'num';
    if (value instanceof Node) td.appendChild(value);
    else td.textContent = value === null || value === undefined ? '' : String(value);
  });
  return row;
}

function clearRows(table) {
  table.tBodies[0].replaceChildren();
}

function fillList(list, entries) {
  list.replaceChildren();
  for (const [name, value] of entries) {
    if (value === undefined) continue;
    list.appendChild(document.createElement('dt')).textContent = name;
    list.appendChild(document.createElement('dd')).textContent = value === null ? '—' : String(value);
  }
}

const isAdmin = () => me?.role === 'admin';
const formatCount = (n) => (typeof n === 'number' ? n.toLocaleString('en-US') : String(n));
const backlogCount = (n) => (n > 100000 ? 'more than 100,000' : formatCount(n));
const seconds = (s) => (s === null || s === undefined ? '—' : `${s} s`);

function showLogin() {
  token = null;
  me = null;
  sessionStorage.removeItem('staffToken');
  clearInterval(coherenceTimer);
  $('app').hidden = true;
  $('who').hidden = true;
  $('login-section').hidden = false;
}

/** Ends the staff session on the server, not only in this tab; the page forgets the token either way. */
async function logout() {
  try {
    if (token) await api('POST', '/oa/auth/logout');
  } finally {
    showLogin();
    // A fresh page: an operator logging in next must not inherit an admin's controls, nor the reverse.
    location.reload();
  }
}

async function showApp() {
  me = await api('GET', '/oa/me');
  $('who-text').textContent = `Logged in as ${me.name || me.phone} (${me.phone}, ${me.role})`;
  // An operator gets a read-only console: the write controls are not hidden but gone.
  if (!isAdmin()) document.querySelectorAll('.admin-only').forEach((element) => element.remove());
  $('read-only-note').hidden = isAdmin();
  $('login-section').hidden = true;
  $('app').hidden = false;
  $('who').hidden = false;
  await Promise.all([refreshCoherence(), countKeys()]);
  clearInterval(coherenceTimer);
  coherenceTimer = setInterval(() => {
    if (document.visibilityState === 'visible') refreshCoherence().catch(showError);
  }, COHERENCE_EVERY_MS);
}

async function refreshCoherence() {
  const [report, health] = await Promise.all([api('GET', '/admin/coherence'), redisHealth()]);
  $('coherence-caption').textContent =
    `As of ${new Date(report.at).toLocaleTimeString()}, answered by process ${report.process.pid} (up ${report.process.uptimeSeconds} s).`;
  const cdc = report.cdc;
  fillList($('cdc'), [
    ['mode', cdc.mode],
    ['role', cdc.role === 'off' ? 'off (hand-written SQL is left to these tools)' : cdc.role],
    ['connected', cdc.mode === 'off' ? undefined : cdc.connected ? 'yes' : 'NO'],
    ['lag', cdc.role === 'leader' ? seconds(cdc.lagSeconds) : cdc.mode === 'off' ? undefined : 'known to the leader'],
    ['bytes behind', cdc.role === 'leader' ? cdc.bytesBehind : undefined],
    ['checkpoint saved', cdc.mode === 'off' ? undefined : cdc.checkpointSavedAgoSeconds === null ? 'never' : `${cdc.checkpointSavedAgoSeconds} s ago`],
    ['last error', cdc.lastError ?? undefined],
  ]);
  const outbox = report.outbox;
  fillList(
    $('outbox'),
    outbox.unavailable
      ? [['MySQL', `not answering: ${outbox.unavailable}`]]
      : [
          ['invalidations pending', backlogCount(outbox.invalidations.pending)],
          ['oldest', seconds(outbox.invalidations.oldestAgeSeconds)],
          ['session endings pending', backlogCount(outbox.sessionEndings.pending)],
          ['oldest ', seconds(outbox.sessionEndings.oldestAgeSeconds)],
        ],
  );
  fillList($('health'), [
    ['reachable', health.reachable ? 'yes' : 'NO'],
    [
      'server',
      health.host === undefined ? undefined : health.clusterNodes ? `cluster ${health.clusterNodes}` : `${health.host}:${health.port} db ${health.db}`,
    ],
    ['round trip (ms)', health.roundTripMs],
    ['version', health.version],
    ['cluster', health.cluster ? `${health.cluster.state}, ${health.cluster.mastersAnswering ?? '?'} of ${health.cluster.masters ?? '?'} masters` : undefined],
  ]);
  const figures = $('cache-figures');
  clearRows(figures);
  for (const e of report.cache) {
    addRow(
      figures,
      [
        e.entity,
        formatCount(e.hits),
        formatCount(e.misses),
        e.hitRatio === null ? '—' : `${(e.hitRatio * 100).toFixed(1)} %`,
        formatCount(e.invalidatedKeys),
        formatCount(e.failedInvalidations),
      ],
      [1, 2, 3, 4, 5],
    );
  }
  if (report.cache.length === 0) addRow(figures, ['no cache reads yet', '', '', '', '', '']);
  const reasons = $('reasons');
  clearRows(reasons);
  const names = [...new Set([...Object.keys(report.sessionsEnded), ...Object.keys(report.socketsKicked)])].sort();
  for (const reason of names) addRow(reasons, [reason, formatCount(report.sessionsEnded[reason] ?? 0), formatCount(report.socketsKicked[reason] ?? 0)], [1, 2]);
  if (names.length === 0) addRow(reasons, ['none yet', '', '']);
  const recent = $('recent-ends');
  clearRows(recent);
  if (!Array.isArray(report.recentSessionEnds)) addRow(recent, [`Redis not answering: ${report.recentSessionEnds.unavailable}`, '', '', '', '', '']);
  else if (report.recentSessionEnds.length === 0) addRow(recent, ['none yet', '', '', '', '', '']);
  else
    for (const e of report.recentSessionEnds)
      addRow(recent, [new Date(e.at).toLocaleString(), e.reason, keyNode(e.identifier), e.userId, e.sessionId, e.by], [3]);
}

/** Redis health; a 503 still carries what could be learnt. */
async function redisHealth() {
  try {
    return await api('GET', '/admin/cache/health');
  } catch (err) {
    if (err instanceof ApiError && err.status === 503) return { reachable: false };
    throw err;
  }
}

/** Keys per scope: one SCAN of the whole cache, so on demand and after a change, not on a timer. */
async function countKeys() {
  const counts = $('counts');
  clearRows(counts);
  const page = await api('GET', '/admin/cache/keys?scope=all&count=1');
  addRow(counts, [page.counts.appUsers, page.counts.oaUsers, page.counts.devices, page.counts.total].map(formatCount), [0, 1, 2, 3]);
}

/** What the lookup form names, as the path of GET and DELETE /admin/cache/{phone|id}/... */
function target() {
  const kind = $('lookup-kind').value;
  const value = $('lookup-value').value.trim();
  const scope = kind === 'id' ? `?scope=${encodeURIComponent($('lookup-scope').value)}` : '';
  return { kind, value, path: `/admin/cache/${kind}/${encodeURIComponent(value)}${scope}` };
}

function showEntries(table, entries) {
  clearRows(table);
  for (const e of entries) addRow(table, [keyNode(e.key), e.ttl, valueNode(e.value)], [1]);
}

async function lookup({ announce = true } = {}) {
  const { kind, value, path } = target();
  const clear = $('clear-target');
  if (clear) clear.disabled = true;
  // A failed lookup must not leave the previous answer on screen under a new question.
  $('entries-caption').textContent = '';
  $('entries').hidden = true;
  const result = await api('GET', path);
  $('entries-caption').textContent = `Cached for ${kind} ${value}: ${result.entries.length} key(s)`;
  showEntries($('entries'), result.entries);
  $('entries').hidden = false;
  if (clear) clear.disabled = false;
  if (announce) say(result.entries.length === 0 ? `Nothing is cached for ${kind} ${value}.` : `${result.entries.length} key(s) cached for ${kind} ${value}.`);
}

async function clearTarget() {
  const { kind, value, path } = target();
  if (!(await confirmDialog(`Delete the cached keys of ${kind} ${value}? Readers will reload them from MySQL.`))) return say('Nothing deleted.');
  const result = await api('DELETE', path);
  say(`Deleted ${result.deleted.length} key(s) of ${kind} ${value}${result.deleted.length ? ': ' + result.deleted.join(', ') : ''}.`);
  await lookup({ announce: false }).catch(showError);
  await countKeys().catch(showError);
}

/** The user the user form names: by id, or found by phone. */
async function findUser() {
  const kind = $('devices-kind').value;
  const value = $('devices-user').value.trim();
  if (kind === 'id') return api('GET', `/admin/app-users/${encodeURIComponent(value)}`);
  const page = await api('GET', `/admin/app-users?phone=${encodeURIComponent(value)}`);
  if (page.items.length === 0) throw new Error(`no user has phone ${value}`);
  return page.items[0];
}

async function showUser({ announce = true } = {}) {
  $('user-panel').hidden = true;
  $('devices-caption').textContent = '';
  const user = await findUser();
  const [devices, cached] = await Promise.all([
    api('GET', `/admin/app-users/${user.id}/devices`),
    api('GET', `/admin/cache/id/${user.id}?scope=appUsers`).catch((err) => ({ error: err })),
  ]);
  const status = user.status === 1 ? 'active' : user.disabledUntil ? `disabled until ${user.disabledUntil}` : 'disabled';
  $('devices-caption').textContent =
    `User ${user.id} (${user.phone ?? 'no phone'}, ${status}): ${devices.length} device(s), ${devices.filter((d) => d.signedIn).length} signed in`;
  const table = $('devices');
  clearRows(table);
  for (const d of devices) {
    const values = [keyNode(d.identifier), d.name, d.platform, d.online ? 'yes' : 'no', d.signedIn ? 'yes' : 'no', d.signedInAt ?? '', d.lastActiveAt ?? ''];
    if (isAdmin()) {
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = 'Sign out…';
      button.disabled = !d.signedIn;
      button.addEventListener(
        'click',
        action(() => signOutDevice(user.id, d.identifier)),
      );
      values.push(button);
    }
    addRow(table, values);
  }
  if (cached.error) {
    $('user-cache-caption').textContent = `Cached keys not read: ${cached.error.message}`;
    clearRows($('user-cache'));
  } else {
    $('user-cache-caption').textContent = `Cached for user ${user.id}: ${cached.entries.length} key(s)`;
    showEntries($('user-cache'), cached.entries);
  }
  $('user-panel').hidden = false;
  if (announce) say(`User ${user.id}: ${devices.length} device(s).`);
}

async function signOutDevice(userId, identifier) {
  if (
    !(await confirmDialog(`Sign device ${identifier} of user ${userId} out? Its session ends at once (reason "kicked"); the device stays bound.`, 'Sign out'))
  )
    return say('Nobody signed out.');
  await api('POST', `/admin/app-users/${userId}/devices/${encodeURIComponent(identifier)}/sign-out`);
  say(`Device ${identifier} of user ${userId} signed out.`);
  await showUser({ announce: false });
}

async function clearScope() {
  const scope = $('clear-scope').value;
  if (!(await confirmDialog(`Delete EVERY cached key of scope "${scope}"? Sessions are not touched.`))) return say('Nothing deleted.');
  const result = await api('DELETE', `/admin/cache?scope=${encodeURIComponent(scope)}`);
  say(`Deleted ${result.deleted} key(s) of scope ${result.scope} in ${result.ms} ms.`);
  await countKeys();
}

/** Starts a background audit, follows its progress, and shows its totals and one page of findings at a time. */
async function audit() {
  const scope = $('audit-scope').value;
  const repair = $('audit-repair')?.checked ?? false;
  if (repair && !(await confirmDialog(`Audit scope "${scope}" and delete every stale key found?`))) return say('Audit not run.');
  const started = await api('POST', '/admin/cache/audits', { scope, repair });
  Object.assign(shownAudit, { id: started.id, offset: 0, total: 0, found: 0 });
  // One audit runs at a time: one already running is followed, and said to be another's.
  const another = started.alreadyRunning && (started.scope !== scope || started.repair !== repair);
  say(
    started.alreadyRunning
      ? `An audit started by ${started.startedBy} is running (scope ${started.scope}${started.repair ? ', repair' : ''}): following it.`
      : 'Auditing…',
  );
  $('audit-progress').hidden = false;
  let job = started;
  let shownFirstPage = false;
  while (job.status === 'running') {
    showAuditTotals(job);
    // The first findings show while the audit goes on.
    if (!shownFirstPage && job.staleTotal > 0) shownFirstPage = await showStalePage(0);
    await new Promise((resolve) => setTimeout(resolve, AUDIT_POLL_MS));
    if (shownAudit.id !== started.id) return;
    job = await api('GET', `/admin/cache/audits/${started.id}`);
  }
  showAuditTotals(job);
  $('audit-progress').hidden = true;
  await showStalePage(shownAudit.offset);
  if (job.status !== 'done') throw new Error(`the audit ${job.status}: ${job.error ?? 'no reason given'}`);
  say(another ? 'The audit that was running is done; yours was not started: run it again.' : 'Audit done.');
  if (job.repaired > 0) await countKeys().catch(showError);
}

function showAuditTotals(job) {
  shownAudit.found = job.staleTotal;
  $('audit-progress').value = job.fraction;
  const verb = job.status === 'running' ? `Scanning (${Math.round(job.fraction * 100)} %)…` : 'Scanned';
  $('audit-summary').textContent =
    `${verb} ${formatCount(job.scanned)} key(s): ${formatCount(job.staleTotal)} stale, ${formatCount(job.unknown)} unknown, ${formatCount(job.repaired)} repaired.`;
  const table = $('audit-reasons');
  clearRows(table);
  for (const [reason, count] of Object.entries(job.staleByReason)) addRow(table, [reason, formatCount(count)], [1]);
  table.hidden = false;
}

async function showStalePage(offset) {
  const page = await api('GET', `/admin/cache/audits/${shownAudit.id}/stale?offset=${offset}&limit=${STALE_PAGE}`);
  Object.assign(shownAudit, { offset, total: page.total });
  const table = $('stale');
  clearRows(table);
  for (const s of page.items) addRow(table, [keyNode(s.key), s.reason, s.detail]);
  const last = offset + page.items.length;
  const kept = shownAudit.found > page.total ? ` kept (the first found of ${formatCount(shownAudit.found)})` : '';
  $('stale-caption').textContent =
    page.total === 0 ? 'No stale keys.' : `Stale keys ${formatCount(offset + 1)}–${formatCount(last)} of ${formatCount(page.total)}${kept}`;
  table.hidden = false;
  $('stale-pager').hidden = page.total <= STALE_PAGE;
  $('stale-prev').disabled = offset === 0;
  $('stale-next').disabled = last >= page.total;
  return page.items.length > 0;
}

document.addEventListener('DOMContentLoaded', () => {
  $('login-form').addEventListener(
    'submit',
    action(async () => {
      const phone = $('login-phone').value.trim();
      const data = await api('POST', '/oa/auth/login', { phone, password: $('login-password').value });
      token = data.token;
      sessionStorage.setItem('staffToken', token);
      $('login-password').value = '';
      await showApp();
    }),
  );
  $('logout').addEventListener('click', action(logout));
  $('refresh').addEventListener('click', action(countKeys));
  $('refresh-coherence').addEventListener('click', action(refreshCoherence));
  $('lookup-form').addEventListener('submit', action(lookup));
  $('clear-target').addEventListener('click', action(clearTarget));
  $('scope-form').addEventListener('submit', action(clearScope));
  $('devices-form').addEventListener('submit', action(showUser));
  $('audit-form').addEventListener('submit', action(audit));
  $('stale-prev').addEventListener(
    'click',
    action(() => showStalePage(Math.max(0, shownAudit.offset - STALE_PAGE))),
  );
  $('stale-next').addEventListener(
    'click',
    action(() => showStalePage(shownAudit.offset + STALE_PAGE)),
  );
  if (token) action(showApp)();
});
