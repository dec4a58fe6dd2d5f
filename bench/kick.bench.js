// Kick latency (request sent -> client sees its disconnect) with one process, across two
// processes, and with 5,000 idle devices connected; for each way a session ends by a request
// (logout, signed_out, kicked, password_changed, overflow); and the server's memory per idle
// connection.
'use strict';
const { connectDevice, createWorld, kickLatencies: logoutLatencies, post, percentile } = require('./lib');

const KICKS = Number(process.env.BENCH_KICKS ?? 200);
const IDLE = Number(process.env.BENCH_IDLE ?? 5000);
const ADMIN = { phone: '13900000000', password: 'bench-admin-password' };

const connect = connectDevice;

async function login(url, identifier) {
  const res = await post(url, '/auth/device', { identifier });
  if (res.status !== 200) throw new Error(`device login: ${JSON.stringify(res.body)}`);
  return res.body.data.token;
}

const kickLatencies = (loginUrl, socketUrl, kickUrl, label) => logoutLatencies(loginUrl, socketUrl, kickUrl, label, KICKS);

async function put(url, path, body, token) {
  const res = await fetch(`${url}${path}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/**
 * For each sample: `prepare(i)` signs a device in and returns its token; its socket connects;
 * `kick(i)` sends the request that ends its session (expected: `reason`).
 */
async function reasonLatencies(url, { prepare, kick, reason }) {
  const samples = [];
  for (let i = 0; i < KICKS; i += 1) {
    const token = await prepare(i);
    const socket = await connect(url, token);
    const kicked = new Promise((resolve) => socket.once('kicked', (p) => resolve(p.reason)));
    const closed = new Promise((resolve) => socket.once('disconnect', resolve));
    const started = process.hrtime.bigint();
    const request = kick(i);
    await closed;
    samples.push(Number(process.hrtime.bigint() - started) / 1e6);
    const res = await request;
    if (res.status !== 200) throw new Error(`${reason}: ${JSON.stringify(res.body)}`);
    if ((await kicked) !== reason) throw new Error(`${reason}: kicked as ${await kicked}`);
  }
  return samples.sort((a, b) => a - b);
}

async function phoneLogin(url, phone, password, identifier) {
  const res = await post(url, '/auth/login', { phone, password, identifier });
  if (res.status !== 200) throw new Error(`login: ${JSON.stringify(res.body)}`);
  return res.body.data.token;
}

/** The session-management reasons, each on an account of its own. */
async function byReason(server, limited, row) {
  const url = server.url;
  const account = async (on = url) => {
    const phone = `139${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
    const res = await post(on, '/auth/register', { phone, password: 'bench-password-1', identifier: `ctl-${phone}` });
    if (res.status !== 201) throw new Error(`register: ${JSON.stringify(res.body)}`);
    return { phone, password: 'bench-password-1', token: res.body.data.token, userId: res.body.data.userId };
  };
  const staff = (await post(url, '/oa/auth/login', { phone: ADMIN.phone, password: ADMIN.password })).body.data.token;

  const a = await account();
  row(
    'signed_out (POST /me/devices/:id/sign-out)',
    await reasonLatencies(url, {
      reason: 'signed_out',
      prepare: (i) => phoneLogin(url, a.phone, a.password, `so-${a.userId}-${i}`),
      kick: (i) => post(url, `/me/devices/so-${a.userId}-${i}/sign-out`, {}, a.token),
    }),
    '<= 50',
  );

  const b = await account();
  row(
    'kicked (staff sign-out)',
    await reasonLatencies(url, {
      reason: 'kicked',
      prepare: (i) => phoneLogin(url, b.phone, b.password, `st-${b.userId}-${i}`),
      kick: (i) => post(url, `/admin/app-users/${b.userId}/devices/st-${b.userId}-${i}/sign-out`, {}, staff),
    }),
    '<= 50',
  );

  const c = await account();
  let password = c.password;
  row(
    'password_changed (PUT /me/password; includes verifying and hashing with argon2)',
    await reasonLatencies(url, {
      reason: 'password_changed',
      prepare: (i) => phoneLogin(url, c.phone, password, `pw-${c.userId}-${i}`),
      kick: (i) => {
        const next = `bench-password-${i + 2}`;
        const sent = put(url, '/me/password', { currentPassword: password, newPassword: next }, c.token);
        password = next;
        return sent;
      },
    }),
    '<= 50 after hashing',
  );

  // What those two requests spend in argon2 alone, with the service's parameters, for comparison.
  const argon2 = require('argon2');
  const options = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 };
  const stored = await argon2.hash('bench-password-1', options);
  const verifyAndHash = [];
  const verifyOnly = [];
  for (let i = 0; i < KICKS; i += 1) {
    const started = process.hrtime.bigint();
    await argon2.verify(stored, 'bench-password-1');
    verifyOnly.push(Number(process.hrtime.bigint() - started) / 1e6);
    await argon2.hash('bench-password-2', options);
    verifyAndHash.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  row(
    '(argon2 verify + hash alone, in the bench process: the floor of a password change)',
    verifyAndHash.sort((x, y) => x - y),
    '-',
  );
  row(
    '(argon2 verify alone: the floor of a phone login)',
    verifyOnly.sort((x, y) => x - y),
    '-',
  );

  // MAX_DEVICES_PER_USER=1: each login of the next device pushes the previous one out.
  const d = await account(limited.url);
  let next = await phoneLogin(limited.url, d.phone, d.password, `ov-${d.userId}-0`);
  row(
    'overflow (a phone login into a full account; includes verifying the password with argon2)',
    await reasonLatencies(limited.url, {
      reason: 'overflow',
      prepare: async () => next,
      kick: async (i) => {
        const res = await post(limited.url, '/auth/login', { phone: d.phone, password: d.password, identifier: `ov-${d.userId}-${i + 1}` });
        next = res.body.data?.token;
        return res;
      },
    }),
    '<= 50 after hashing',
  );
}

async function inBatches(items, size, work) {
  const out = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(work))));
  return out;
}

async function main() {
  const world = await createWorld('kick');
  const sockets = [];
  try {
    const one = await world.start({ ADMIN_PHONE: ADMIN.phone, ADMIN_PASSWORD: ADMIN.password });
    const two = await world.start();
    const limited = await world.start({ MAX_DEVICES_PER_USER: '1' });
    const rows = [];
    const row = (label, s, target) => rows.push(`| ${label} | ${s.length} | ${percentile(s, 50).toFixed(1)} | ${percentile(s, 99).toFixed(1)} | ${target} |`);

    row('logout (one process)', await kickLatencies(one.url, one.url, one.url, 'one'), '<= 50');
    row('two processes (socket on 2, request to 1)', await kickLatencies(one.url, two.url, one.url, 'two'), '<= 100');
    await byReason(one, limited, row);

    const tokens = await inBatches([...Array(IDLE).keys()], 50, (i) => login(one.url, `idle-${i}`));
    await new Promise((r) => setTimeout(r, 1000));
    const rssBefore = one.rssKb();
    for (let i = 0; i < tokens.length; i += 200) sockets.push(...(await Promise.all(tokens.slice(i, i + 200).map((t) => connect(one.url, t)))));
    await new Promise((r) => setTimeout(r, 2000));
    const rssAfter = one.rssKb();
    row(`one process, ${IDLE} idle devices connected`, await kickLatencies(one.url, one.url, one.url, 'idle'), '<= 50');

    console.log('## Kick latency (bench/kick.bench.js)');
    console.log('');
    console.log(
      'Request sent to the client seeing its socket closed, in ms; one process unless said. Password and overflow kicks include the argon2 work of their request.',
    );
    console.log('');
    console.log('| setting | kicks | p50 ms | p99 ms | p99 target |');
    console.log('|---|---:|---:|---:|---:|');
    rows.forEach((r) => console.log(r));
    console.log('');
    console.log(
      `Memory per idle connection: ${(((rssAfter - rssBefore) * 1024) / IDLE / 1024).toFixed(1)} KiB of server RSS (${IDLE} sockets: ${(rssBefore / 1024).toFixed(0)} -> ${(rssAfter / 1024).toFixed(0)} MiB).`,
    );
  } finally {
    sockets.forEach((s) => s.close());
    await world.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
