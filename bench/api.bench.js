// GET /me with cache hits (session lookup included) against GET /health/live, the framework's
// own ceiling on this machine, and GET /me with the cache bypassed; measured side by side in one
// run, interleaved in rounds (each starting with another endpoint) so that drift hits all three alike.
'use strict';
const autocannon = require('autocannon');
const fs = require('fs');
const { createWorld, post } = require('./lib');

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONNECTIONS = 50;

/** CPU time (user + system) the process has used, in microseconds (clock ticks of 10 ms). */
function cpuMicros(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/** Requests/s and the server's CPU microseconds per request for one endpoint. */
function run(server, path, token) {
  const cpuBefore = cpuMicros(server.pid);
  return new Promise((resolve, reject) => {
    autocannon(
      { url: `${server.url}${path}`, connections: CONNECTIONS, duration: SECONDS, headers: token ? { authorization: `Bearer ${token}` } : {} },
      (err, result) => {
        if (err) return reject(err);
        if (result.non2xx > 0 || result.errors > 0) return reject(new Error(`${path}: ${result.non2xx} non-2xx, ${result.errors} errors`));
        resolve({ rps: result.requests.average, cpuPerRequest: (cpuMicros(server.pid) - cpuBefore) / result.requests.total });
      },
    );
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fixed = (xs, digits) => xs.map((x) => x.toFixed(digits)).join(', ');

async function main() {
  const world = await createWorld('api');
  try {
    const cached = await world.start();
    const bypass = await world.start({ CACHE_BYPASS: '1' });
    const phone = `1${Date.now().toString().slice(-10)}`;
    const reg = await post(cached.url, '/auth/register', { phone, password: 'bench-password', identifier: 'bench-device' });
    if (reg.status !== 201) throw new Error(`register: ${JSON.stringify(reg.body)}`);
    const token = reg.body.data.token;
    await fetch(`${cached.url}/me`, { headers: { authorization: `Bearer ${token}` } });

    const endpoints = [
      { name: 'live', measure: () => run(cached, '/health/live') },
      { name: 'me', measure: () => run(cached, '/me', token) },
      { name: 'bypass', measure: () => run(bypass, '/me', token) },
    ];
    // Warm-up, not counted: the first seconds of a fresh process run far below its steady state.
    for (const endpoint of endpoints) await endpoint.measure();
    // The machine's shared cores make absolute rates drift by up to 2x within a minute, so each
    // round measures the three endpoints back to back and yields its own ratios; the figure is the
    // median of those per-round ratios. Each round starts with another endpoint.
    const rounds = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const result = {};
      for (let i = 0; i < endpoints.length; i += 1) {
        const endpoint = endpoints[(round + i) % endpoints.length];
        result[endpoint.name] = await endpoint.measure();
      }
      rounds.push(result);
    }
    const series = (name, key) => rounds.map((r) => r[name][key]);
    const meRatios = rounds.map((r) => r.me.rps / r.live.rps);
    const bypassRatios = rounds.map((r) => r.bypass.rps / r.live.rps);
    const [l, m, b] = ['live', 'me', 'bypass'].map((name) => median(series(name, 'rps')));
    const [lc, mc, bc] = ['live', 'me', 'bypass'].map((name) => median(series(name, 'cpuPerRequest')));
    console.log('## GET /me against the framework ceiling (bench/api.bench.js)');
    console.log('');
    console.log(`${ROUNDS} rounds of ${SECONDS} s per endpoint, back to back within a round, ${CONNECTIONS} connections, one server process each.`);
    console.log('Ratios are the medians of the per-round ratios; req/s and server CPU per request are medians over the rounds.');
    console.log('');
    console.log('| endpoint | req/s | ratio to /health/live | server CPU µs/request |');
    console.log('|---|---:|---:|---:|');
    console.log(`| GET /health/live | ${l.toFixed(0)} | 1.00 | ${lc.toFixed(0)} |`);
    console.log(`| GET /me, cache hits | ${m.toFixed(0)} | ${median(meRatios).toFixed(2)} (target >= 0.80) | ${mc.toFixed(0)} |`);
    console.log(`| GET /me, CACHE_BYPASS=1 | ${b.toFixed(0)} | ${median(bypassRatios).toFixed(2)} | ${bc.toFixed(0)} |`);
    console.log('');
    console.log(`Per-round ratios: /me ${fixed(meRatios, 2)}; bypassed ${fixed(bypassRatios, 2)}.`);
    console.log(`Per-round req/s: /health/live ${fixed(series('live', 'rps'), 0)}; /me ${fixed(series('me', 'rps'), 0)}; bypassed ${fixed(series('bypass', 'rps'), 0)}.`);
    console.log(`Cache hits serve ${(m / b).toFixed(2)}x the requests of the bypassed path.`);
  } finally {
    await world.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
