import { INestApplicationContext } from '@nestjs/common';
import type { IncomingMessage } from 'http';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import Redis, { Cluster } from 'ioredis';
import type { Server, ServerOptions } from 'socket.io';
import { requestIdOf } from '../common/logging';
import { AppConfig, clusterNodes } from '../config/app-config';
import type { RedisClient } from '../redis/redis-client';
import { closeRedis, clusterOptions, redisOptions } from '../redis/redis.factory';

/**
 * Socket.IO over @socket.io/redis-adapter, so that a kick served by one process reaches a device
 * connected to another. Pub/Sub delivery is at most once; DeviceGateway's sweep heals a lost kick.
 *
 * On a Redis Cluster it is the sharded adapter (SPUBLISH/SSUBSCRIBE, Redis 7), in its "static"
 * mode: the namespace's two channels live on one master and every process subscribes to them at
 * start-up. Classic Pub/Sub on a cluster copies every message to every node; sharded Pub/Sub
 * keeps it on one shard. The "dynamic" mode (a channel per room, subscribed when a socket joins
 * it) would spread kicks over the masters, but its subscription is not awaited, and a kick sent
 * in the first milliseconds of a connection, or the first one to a master not subscribed yet, was
 * lost in our tests; kicks are few, so one shard carries them all easily. The subscriber keeps a
 * connection per master (ioredis `shardedSubscribers`) and refreshes the slot map every two
 * seconds, which is how it follows a failover (a promoted replica does not tell subscribers that
 * it took their slots); the sweep heals a kick lost meanwhile.
 */
export class RedisIoAdapter extends IoAdapter {
  private clients: RedisClient[] = [];
  private adapter?: ReturnType<typeof createAdapter> | ReturnType<typeof createShardedAdapter>;
  private closing?: Promise<void>;

  constructor(app: INestApplicationContext) {
    super(app);
  }

  async connect(config: AppConfig): Promise<void> {
    if (config.REDIS_CLUSTER_NODES) return this.connectCluster(config, config.REDIS_CLUSTER_NODES);
    // Pub/Sub clients queue while reconnecting and send again what a dropped connection lost,
    // unlike the request path's fail-fast client: a kick published during a blip still goes out.
    const options = {
      ...redisOptions(config),
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
      autoResendUnfulfilledCommands: true,
      commandTimeout: undefined,
    };
    const pub = new Redis({ ...options, connectionName: 'hi-server:io-pub' });
    const sub = new Redis({ ...options, connectionName: 'hi-server:io-sub' });
    this.clients = [pub, sub];
    this.clients.forEach((client) => client.on('error', () => undefined));
    await Promise.all(this.clients.map((client) => client.connect()));
    this.adapter = createAdapter(pub, sub, { requestsTimeout: 2000 });
  }

  private async connectCluster(config: AppConfig, nodes: string): Promise<void> {
    const options = (name: string) => {
      const base = clusterOptions(config, name);
      return {
        ...base,
        enableOfflineQueue: true,
        redisOptions: { ...base.redisOptions, maxRetriesPerRequest: null, autoResendUnfulfilledCommands: true, commandTimeout: undefined },
      };
    };
    const pub = new Cluster(clusterNodes(nodes), options('hi-server:io-pub'));
    const sub = new Cluster(clusterNodes(nodes), { ...options('hi-server:io-sub'), shardedSubscribers: true });
    // The adapter (un)subscribes a room's channel without waiting for the answer: one refused
    // during a failover must not become an unhandled rejection (the sweep covers the room).
    const commands = sub as unknown as Record<'ssubscribe' | 'sunsubscribe', (...channels: string[]) => Promise<unknown>>;
    for (const name of ['ssubscribe', 'sunsubscribe'] as const) {
      const send = commands[name].bind(sub);
      commands[name] = (...channels: string[]) => {
        const sent = send(...channels);
        sent.catch(() => undefined);
        return sent;
      };
    }
    this.clients = [pub, sub];
    this.clients.forEach((client) => client.on('error', () => undefined));
    await Promise.all(this.clients.map((client) => client.connect()));
    this.adapter = createShardedAdapter(pub, sub, { subscriptionMode: 'static' });
  }

  createIOServer(port: number, options?: ServerOptions): Server {
    // Devices send small events: a message over 16 KiB is refused by the transport.
    const server = super.createIOServer(port, { ...options, transports: ['websocket', 'polling'], maxHttpBufferSize: 16 * 1024 }) as Server;
    if (this.adapter) server.adapter(this.adapter);
    // Socket.IO answers its own HTTP requests (the handshake, long polling, the WebSocket upgrade),
    // before Fastify sees them: they echo the request id too.
    server.engine.on('headers', (headers: Record<string, string>, req: IncomingMessage) => {
      headers['x-request-id'] = requestIdOf(req.headers);
    });
    // Only /devices accepts connections; Socket.IO refuses unknown namespaces itself, but not its main one.
    server.of('/').use((_socket, next) => next(Object.assign(new Error('unknown namespace: connect to /devices'), { data: { code: 100008 } })));
    return server;
  }

  /** Nest closes the server once per gateway; the first call does the work, the others wait for it. */
  close(server: Server): Promise<void> {
    this.closing ??= this.closeOnce(server);
    return this.closing;
  }

  private async closeOnce(server: Server): Promise<void> {
    await super.close(server);
    await Promise.all(this.clients.map((client) => closeRedis(client)));
    this.clients = [];
  }
}
