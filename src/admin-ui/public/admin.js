// The admin page: calls /oa/auth/*, /admin/cache and /admin/app-users with the staff token, nothing else.
// Values from the server are only ever set as textContent, never as HTML.
'use strict';

const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem('staffToken');

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

function cell(row, text, asCode = false) {
  const td = row.insertCell();
  if (asCode) td.appendChild(document.createElement('code')).textContent = text;
  else td.textContent = text;
}

function fillRows(table, rows) {
  const body = table.tBodies[0];
  body.replaceChildren();
  for (const values of rows) {
    const row = body.insertRow();
    values.forEach((v, i) => cell(row, String(v), i === 0));
  }
  table.hidden = rows.length === 0;
}

function showLogin() {
  token = null;
  sessionStorage.removeItem('staffToken');
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
  }
}

async function showApp() {
  $('login-section').hidden = true;
  $('app').hidden = false;
  $('who').hidden = false;
  await refresh();
}

async function refresh() {
  const list = $('health');
  list.replaceChildren();
  try {
    const health = await api('GET', '/admin/cache/health');
    addHealth(health);
  } catch (err) {
    if (err instanceof ApiError && err.status === 503) addHealth({ reachable: false });
    throw err;
  } finally {
    const page = await api('GET', '/admin/cache/keys?scope=all&count=1').catch(() => null);
    if (page) fillRows($('counts'), [[page.counts.appUsers, page.counts.oaUsers, page.counts.devices, page.counts.total]]);
    $('counts').hidden = false;
  }
}

function addHealth(health) {
  const list = $('health');
  for (const [name, value] of Object.entries({
    reachable: health.reachable ? 'yes' : 'NO',
    host: health.host,
    port: health.port,
    db: health.db,
    'round trip (ms)': health.roundTripMs,
    version: health.version,
  })) {
    if (value === undefined) continue;
    list.appendChild(document.createElement('dt')).textContent = name;
    list.appendChild(document.createElement('dd')).textContent = String(value);
  }
}

/** What the lookup form names, as the path of GET and DELETE /admin/cache/{phone|id}/... */
function target() {
  const kind = $('lookup-kind').value;
  const value = $('lookup-value').value.trim();
  const scope = kind === 'id' ? `?scope=${encodeURIComponent($('lookup-scope').value)}` : '';
  return { kind, value, path: `/admin/cache/${kind}/${encodeURIComponent(value)}${scope}` };
}

async function lookup({ announce = true } = {}) {
  const { kind, value, path } = target();
  $('clear-target').disabled = true;
  const result = await api('GET', path);
  $('entries-caption').textContent = `Cached for ${kind} ${value}: ${result.entries.length} key(s)`;
  fillRows(
    $('entries'),
    result.entries.map((e) => [e.key, e.ttl, e.value === null ? '(not a string)' : e.value]),
  );
  $('entries').hidden = false;
  $('clear-target').disabled = false;
  if (announce) say(result.entries.length === 0 ? `Nothing is cached for ${kind} ${value}.` : `${result.entries.length} key(s) cached for ${kind} ${value}.`);
}

async function clearTarget() {
  const { kind, value, path } = target();
  if (!(await confirmDialog(`Delete the cached keys of ${kind} ${value}? Readers will reload them from MySQL.`))) return say('Nothing deleted.');
  const result = await api('DELETE', path);
  say(`Deleted ${result.deleted.length} key(s) of ${kind} ${value}${result.deleted.length ? ': ' + result.deleted.join(', ') : ''}.`);
  await lookup({ announce: false }).catch(showError);
  await refresh().catch(showError);
}

/** The user the devices form names: by id, or found by phone. */
async function deviceOwner() {
  const kind = $('devices-kind').value;
  const value = $('devices-user').value.trim();
  if (kind === 'id') return api('GET', `/admin/app-users/${encodeURIComponent(value)}`);
  const page = await api('GET', `/admin/app-users?phone=${encodeURIComponent(value)}`);
  if (page.items.length === 0) throw new Error(`no user has phone ${value}`);
  return page.items[0];
}

async function showDevices({ announce = true } = {}) {
  $('devices').hidden = true;
  $('devices-caption').textContent = '';
  const user = await deviceOwner();
  const devices = await api('GET', `/admin/app-users/${user.id}/devices`);
  const status = user.status === 1 ? 'active' : user.disabledUntil ? `disabled until ${user.disabledUntil}` : 'disabled';
  $('devices-caption').textContent =
    `User ${user.id} (${user.phone ?? 'no phone'}, ${status}): ${devices.length} device(s), ${devices.filter((d) => d.signedIn).length} signed in`;
  const body = $('devices').tBodies[0];
  body.replaceChildren();
  for (const d of devices) {
    const row = body.insertRow();
    cell(row, d.identifier, true);
    for (const value of [d.name, d.platform, d.online ? 'yes' : 'no', d.signedIn ? 'yes' : 'no', d.signedInAt ?? '', d.lastActiveAt ?? '']) cell(row, value);
    const button = row.insertCell().appendChild(document.createElement('button'));
    button.type = 'button';
    button.textContent = 'Sign out…';
    button.disabled = !d.signedIn;
    button.addEventListener(
      'click',
      action(() => signOutDevice(user.id, d.identifier)),
    );
  }
  $('devices').hidden = false;
  if (announce) say(`${devices.length} device(s) of user ${user.id}.`);
}

async function signOutDevice(userId, identifier) {
  if (
    !(await confirmDialog(`Sign device ${identifier} of user ${userId} out? Its session ends at once (reason "kicked"); the device stays bound.`, 'Sign out'))
  )
    return say('Nobody signed out.');
  await api('POST', `/admin/app-users/${userId}/devices/${encodeURIComponent(identifier)}/sign-out`);
  say(`Device ${identifier} of user ${userId} signed out.`);
  await showDevices({ announce: false });
}

async function clearScope() {
  const scope = $('clear-scope').value;
  if (!(await confirmDialog(`Delete EVERY cached key of scope "${scope}"? Sessions are not touched.`))) return say('Nothing deleted.');
  const result = await api('DELETE', `/admin/cache?scope=${encodeURIComponent(scope)}`);
  say(`Deleted ${result.deleted} key(s) of scope ${result.scope} in ${result.ms} ms.`);
  await refresh();
}

async function audit() {
  const scope = $('audit-scope').value;
  const repair = $('audit-repair').checked;
  if (repair && !(await confirmDialog(`Audit scope "${scope}" and delete every stale key found?`))) return say('Audit not run.');
  say('Auditing…');
  const report = await api('GET', `/admin/cache/audit?scope=${encodeURIComponent(scope)}&repair=${repair}`);
  $('audit-summary').textContent = `Scanned ${report.scanned} key(s): ${report.stale.length} stale, ${report.unknown} unknown, ${report.repaired} repaired.`;
  fillRows(
    $('stale'),
    report.stale.map((s) => [s.key, s.reason, s.detail]),
  );
  say('Audit done.');
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
      $('who-text').textContent = `Logged in as ${phone}`;
      await showApp();
    }),
  );
  $('logout').addEventListener('click', action(logout));
  $('refresh').addEventListener('click', action(refresh));
  $('lookup-form').addEventListener('submit', action(lookup));
  $('clear-target').addEventListener('click', action(clearTarget));
  $('scope-form').addEventListener('submit', action(clearScope));
  $('devices-form').addEventListener('submit', action(showDevices));
  $('audit-form').addEventListener('submit', action(audit));
  if (token) action(showApp)();
});
