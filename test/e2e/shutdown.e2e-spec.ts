import { connect } from 'net';
import { OwnRedis, startRedisServer } from '../support/redis-server';
import { jsonLines, spawnHiServer } from '../support/server-process';
import { registerUser } from '../support/flows';
import { Api } from '../support/http';
import { TestWorld } from '../support/test-app';

const TIMEOUT_SECONDS = 3;

/**
 * Issue 11: a SIGTERM while Redis goes away once left the process alive for half an hour, its
 * HTTP listener closed, waiting on work that held a MySQL connection. Now the process closes
 * cleanly whatever Redis does meanwhile, and is gone within SHUTDOWN_TIMEOUT_SECONDS whatever else
 * holds it, saying what it did.
 */
describe('shutdown is bounded whatever the dependencies and clients do meanwhile', () => {
  let redis: OwnRedis | undefined;
  let world: TestWorld | undefined;

  beforeEach(async () => {
    redis = await startRedisServer();
    world = await TestWorld.create({ redis });
  });
  afterEach(async () => {
    await world?.close();
    await redis?.destroy();
  });

  const start = () => spawnHiServer(world!.env({ LOG_LEVEL: 'info', SHUTDOWN_TIMEOUT_SECONDS: String(TIMEOUT_SECONDS) }));

  it.each([
    ['Redis killed just after the SIGTERM', 'after'],
    ['Redis killed just before the SIGTERM', 'before'],
    ['Redis killed while writes are in flight, then SIGTERM', 'load'],
  ])('%s: closes cleanly', async (_, order) => {
    const server = await start();
    const api = new Api(server.url);
    const user = await registerUser(api);
    const load = order === 'load' ? [...Array(20)].map((_, i) => api.patch('/me', { nickname: `n${i}` }, user.token).catch(() => null)) : [];
    const started = Date.now();
    if (order !== 'after') await redis!.stop();
    process.kill(server.pid, 'SIGTERM');
    if (order === 'after') await redis!.stop();
    const code = await server.exited;
    await Promise.all(load);
    expect(Date.now() - started).toBeLessThan(TIMEOUT_SECONDS * 1000);
    if (code !== 0)
      console.log(
        server
          .output()
          .split('\n')
          .filter((l) => !/"level":30/.test(l))
          .join('\n'),
      );
    expect(code).toBe(0);
    expect(server.output()).toMatch(/"msg":"SIGTERM: closing \(at most 3 s\)"[\s\S]*"msg":"closed in \d+ ms"/);
    // JSON from the first line to the last: the start-up line names what it connected to, the
    // shutdown's lines what happened, and the last one is the shutdown's own.
    const lines = jsonLines(server.output());
    const port = Number(new URL(server.url).port);
    const { DB_HOST, DB_PORT } = world!.env();
    const mysql = `${DB_HOST}:${DB_PORT}/${world!.dbName}`;
    expect(lines.filter((l) => l.context === 'Main')).toEqual([
      expect.objectContaining({
        level: 30,
        port,
        mysql,
        redis: `127.0.0.1:${redis!.port}/0`,
        cdcMode: 'off',
        msg: `hi-server listening on port ${port}: MySQL ${mysql}, Redis 127.0.0.1:${redis!.port}/0, CDC_MODE=off`,
      }),
    ]);
    expect(JSON.stringify(lines)).not.toContain(world!.admin.password);
    expect(lines.filter((l) => l.context === 'Shutdown')).toEqual([
      expect.objectContaining({ level: 30, signal: 'SIGTERM', timeoutSeconds: TIMEOUT_SECONDS }),
      expect.objectContaining({ level: 30, signal: 'SIGTERM', ms: expect.any(Number), exitCode: 0 }),
    ]);
    expect(lines[lines.length - 1]).toEqual(expect.objectContaining({ context: 'Shutdown', exitCode: 0 }));
  });

  it('a client that never finishes its request cannot hold the process past the timeout', async () => {
    const server = await start();
    const { port } = new URL(server.url);
    const stalled = connect(Number(port), '127.0.0.1');
    stalled.on('error', () => undefined);
    await new Promise((resolve) => stalled.once('connect', resolve));
    stalled.write('POST /auth/device HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"ident');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = Date.now();
    process.kill(server.pid, 'SIGTERM');
    const code = await server.exited;
    stalled.destroy();
    expect(Date.now() - started).toBeGreaterThanOrEqual(TIMEOUT_SECONDS * 1000 - 100);
    expect(Date.now() - started).toBeLessThan((TIMEOUT_SECONDS + 2) * 1000);
    expect(code).toBe(1);
    expect(server.output()).toMatch(/"msg":"not closed after 3 s \(a request, a client or a dependency still holds it\): exiting anyway"/);
    const lines = jsonLines(server.output());
    expect(lines[lines.length - 1]).toEqual(expect.objectContaining({ level: 50, context: 'Shutdown', signal: 'SIGTERM', exitCode: 1 }));
  });
});
