// Kick latency (request sent -> client sees its disconnect) with one process, across two
// processes, and with 5,000 idle devices connected; and the server's memory per idle connection.
'use strict';
const { io } = require('socket.io-client');
const { createWorld, post, percentile } = require('./lib');

const KICKS = Number(process.env.BENCH_KICKS ?? 200);
const IDLE = Number(process.env.BENCH_IDLE ?? 5000);

function connect(url, token) {
  return new Promise((resolve, reject) => {
    const socket = io(`${url}/devices`, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

async function login(url, identifier) {
  const res = await post(url, '/auth/device', { identifier });
  if (res.status !== 200) throw new Error(`device login: ${JSON.stringify(res.body)}`);
  return res.body.data.token;
}

/** Logs a device in on `loginUrl`, connects it to `socketUrl`, logs it out through `kickUrl`. */
async function kickLatencies(loginUrl, socketUrl, kickUrl, label) {
  const samples = [];
  for (let i = 0; i < KICKS; i += 1) {
    const token = await login(loginUrl, `kick-${label}-${i}`);
    const socket = await connect(socketUrl, token);
    const closed = new Promise((resolve) => socket.once('disconnect', resolve));
    const started = process.hrtime.bigint();
    const logout = post(kickUrl, '/auth/logout', {}, token);
    await closed;
    samples.push(Number(process.hrtime.bigint() - started) / 1e6);
    await logout;
  }
  return samples.sort((a, b) => a - b);
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
    const one = await world.start();
    const two = await world.start();
    const rows = [];
    const row = (label, s, target) => rows.push(`| ${label} | ${s.length} | ${percentile(s, 50).toFixed(1)} | ${percentile(s, 99).toFixed(1)} | ${target} |`);

    row('one process', await kickLatencies(one.url, one.url, one.url, 'one'), '<= 50');
    row('two processes (socket on 2, request to 1)', await kickLatencies(one.url, two.url, one.url, 'two'), '<= 100');

    const tokens = await inBatches([...Array(IDLE).keys()], 50, (i) => login(one.url, `idle-${i}`));
    await new Promise((r) => setTimeout(r, 1000));
    const rssBefore = one.rssKb();
    for (let i = 0; i < tokens.length; i += 200) sockets.push(...(await Promise.all(tokens.slice(i, i + 200).map((t) => connect(one.url, t)))));
    await new Promise((r) => setTimeout(r, 2000));
    const rssAfter = one.rssKb();
    row(`one process, ${IDLE} idle devices connected`, await kickLatencies(one.url, one.url, one.url, 'idle'), '<= 50');

    console.log('## Kick latency (bench/kick.bench.js)');
    console.log('');
    console.log('Request sent to the client seeing its socket closed, in ms; each sample is a device logging out.');
    console.log('');
    console.log('| setting | kicks | p50 ms | p99 ms | p99 target |');
    console.log('|---|---:|---:|---:|---:|');
    rows.forEach((r) => console.log(r));
    console.log('');
    console.log(`Memory per idle connection: ${(((rssAfter - rssBefore) * 1024) / IDLE / 1024).toFixed(1)} KiB of server RSS (${IDLE} sockets: ${(rssBefore / 1024).toFixed(0)} -> ${(rssAfter / 1024).toFixed(0)} MiB).`);
  } finally {
    sockets.forEach((s) => s.close());
    await world.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
