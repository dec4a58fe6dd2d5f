// The bare reference for bench/api.bench.js: what GET /health/live and a cache-hit GET /me cost
// when written by hand on the project's own Fastify and ioredis, with no framework around them.
// It reads the service's Redis layout (session:{sha256(token)}, then cache:appUsers:id:{userId})
// and answers the service's envelopes, so the two servers do the same job per request. No logger,
// no plugins, no MySQL fallback: the bench warms the cache and checks every answer is 200.
'use strict';
const { createHash } = require('crypto');
const Fastify = require('fastify');
const Redis = require('ioredis');

const redis = new Redis({
  host: process.env.REDIS_HOST ?? '127.0.0.1',
  port: Number(process.env.REDIS_PORT ?? 6379),
  db: Number(process.env.REDIS_DB),
});
const app = Fastify();

const UNAUTHORIZED = { code: 100003, msg: 'token missing, invalid or expired' };
const BEARER = /^Bearer\s+([A-Za-z0-9._~+/=-]{16,512})\s*$/i;

app.get('/hello', async () => ({ code: 200, msg: 'OK', data: { status: 'ok' } }));

app.get('/me', async (req, reply) => {
  const token = BEARER.exec(req.headers.authorization ?? '')?.[1];
  const raw = token && (await redis.get(`session:${createHash('sha256').update(token).digest('hex')}`));
  if (!raw) return reply.code(401).send(UNAUTHORIZED);
  const row = await redis.get(`cache:appUsers:id:${JSON.parse(raw).userId}`);
  if (!row) throw new Error('cache miss: the bench warms the cache before measuring');
  const u = JSON.parse(row);
  return {
    code: 200,
    msg: 'OK',
    data: { id: u.id, phone: u.phone, email: u.email, nickname: u.nickname, status: u.status, referCode: u.referCode, referrerId: u.referrerId },
  };
});

app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' }).catch((err) => {
  console.error(err);
  process.exit(1);
});
// The bench stops its servers with SIGTERM; close the Redis connection on the way out.
process.once('SIGTERM', () =>
  app
    .close()
    .then(() => redis.quit())
    .finally(() => process.exit(0)),
);
