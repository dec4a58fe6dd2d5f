// What the service's framework costs per request: its GET /health/live and cache-hit GET /me
// against a bare Fastify server doing the same job by hand (bench/bare-reference.js, same Fastify,
// ioredis and Redis db). Comparing /me with the service's own /health/live hid that overhead, as
// both pay it. Measured side by side in one run, interleaved in rounds (each starting with another
// endpoint) so that the drift of the shared cores hits every endpoint alike.
// BENCH_BYPASS=1 adds GET /me with CACHE_BYPASS=1 (one more server, one more endpoint per round).
'use strict';
const assert = require('assert');
const path = require('path');
const { createWorld, measure, median, post } = require('./lib');

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONNECTIONS = 50;
const TARGETS = { me: 2.0, live: 2.5 };

const run = (server, path, token) => measure(server, path, token, { connections: CONNECTIONS, seconds: SECONDS });

/** Both servers must answer the same status and body, or the comparison would be unfair. */
async function assertSameAnswer(a, b, token) {
  const get = (url) => fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} }).then(async (r) => [r.status, await r.json()]);
  const [ours, theirs] = [await get(a), await get(b)];
  assert.deepStrictEqual(theirs, ours, `${b} answers unlike ${a}`);
  assert.strictEqual(ours[0], 200, `${a} answers ${ours[0]}`);
}

const fixed = (xs, digits) => xs.map((x) => x.toFixed(digits)).join(', ');

async function main() {
  const world = await createWorld('api');
  try {
    const service = await world.start();
    const bare = await world.start({}, { script: path.join(__dirname, 'bare-reference.js'), readyPath: '/hello' });
    const bypass = process.env.BENCH_BYPASS === '1' ? await world.start({ CACHE_BYPASS: '1' }) : null;
    const phone = `1${Date.now().toString().slice(-10)}`;
    const reg = await post(service.url, '/auth/register', { phone, password: 'bench-password', identifier: 'bench-device' });
    if (reg.status !== 201) throw new Error(`register: ${JSON.stringify(reg.body)}`);
    const token = reg.body.data.token;
    // The service's first GET /me fills the cache that every later /me (and the bare one) hits.
    await assertSameAnswer(`${service.url}/me`, `${bare.url}/me`, token);
    await assertSameAnswer(`${service.url}/health/live`, `${bare.url}/hello`);

    const endpoints = [
      { name: 'hello', label: 'bare GET /hello', measure: () => run(bare, '/hello') },
      { name: 'bareMe', label: 'bare GET /me', measure: () => run(bare, '/me', token) },
      { name: 'live', label: 'service GET /health/live', measure: () => run(service, '/health/live') },
      { name: 'me', label: 'service GET /me, cache hit', measure: () => run(service, '/me', token) },
    ];
    if (bypass) endpoints.push({ name: 'bypass', label: 'service GET /me, CACHE_BYPASS=1', measure: () => run(bypass, '/me', token) });
    // Warm-up, not counted: the first seconds of a fresh process run far below its steady state.
    for (const endpoint of endpoints) await endpoint.measure();
    // Absolute rates drift by up to 2x within a minute on the shared cores, so each round measures
    // every endpoint back to back and yields its own ratios; the figure is their median.
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
    const at = (name, key) => median(series(name, key));
    const meRatios = rounds.map((r) => r.me.cpu / r.bareMe.cpu);
    const liveRatios = rounds.map((r) => r.live.cpu / r.hello.cpu);
    const verdict = (ratio, target) => `${ratio.toFixed(2)} (target <= ${target.toFixed(1)}: **${ratio <= target ? 'met' : 'not met'}**)`;

    console.log('## The service against a bare Fastify reference (bench/api.bench.js)');
    console.log('');
    console.log(`${ROUNDS} rounds of ${SECONDS} s per endpoint, back to back within a round, ${CONNECTIONS} connections;`);
    console.log('the service is dist/main.js, the reference bench/bare-reference.js, each its own process on the same Redis db');
    console.log(`(server cores: ${process.env.BENCH_SERVER_CPUS ?? 'any, shared with the load generator'}). Figures are medians over the rounds;`);
    console.log('ratios are the medians of the per-round ratios of server CPU per request.');
    console.log('');
    console.log('| endpoint | req/s | server CPU µs/request | p99 ms |');
    console.log('|---|---:|---:|---:|');
    for (const { name, label } of endpoints) {
      console.log(`| ${label} | ${at(name, 'rps').toFixed(0)} | ${at(name, 'cpu').toFixed(0)} | ${at(name, 'p99').toFixed(0)} |`);
    }
    console.log('');
    console.log('| CPU per request | ratio |');
    console.log('|---|---|');
    console.log(`| service GET /me ÷ bare GET /me | ${verdict(median(meRatios), TARGETS.me)} |`);
    console.log(`| service GET /health/live ÷ bare GET /hello | ${verdict(median(liveRatios), TARGETS.live)} |`);
    console.log('');
    console.log(`p99 of GET /me: service ${at('me', 'p99').toFixed(0)} ms, bare ${at('bareMe', 'p99').toFixed(0)} ms.`);
    console.log(`Per-round ratios: /me ${fixed(meRatios, 2)}; liveness ${fixed(liveRatios, 2)}.`);
    console.log(`Per-round CPU µs/request: ${endpoints.map(({ name, label }) => `${label} ${fixed(series(name, 'cpu'), 0)}`).join('; ')}.`);
  } finally {
    await world.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
