import { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import Redis from 'ioredis';
import type { Server, ServerOptions } from 'socket.io';
import { AppConfig } from '../config/app-config';
import { closeRedis, redisOptions } from '../redis/redis.factory';

/**
 * Socket.IO over @socket.io/redis-adapter, so that a kick served by one process reaches a device
 * connected to another. Pub/Sub delivery is at most once; DeviceGateway's sweep heals a lost kick.
 */
export class RedisIoAdapter extends IoAdapter {
  private clients: Redis[] = [];
  private adapter?: ReturnType<typeof createAdapter>;
  private closing?: Promise<void>;

  constructor(app: INestApplicationContext) {
    super(app);
  }

  async connect(config: AppConfig): Promise<void> {
    // Pub/Sub clients queue while reconnecting and send again what a dropped connection lost,
    // unlike the request path's fail-fast client: a kick published during a blip still goes out.
    const options = { ...redisOptions(config), enableOfflineQueue: true, maxRetriesPerRequest: null, autoResendUnfulfilledCommands: true, commandTimeout: undefined };
    const pub = new Redis({ ...options, connectionName: 'hi-server:io-pub' });
    const sub = new Redis({ ...options, connectionName: 'hi-server:io-sub' });
    this.clients = [pub, sub];
    this.clients.forEach((client) => client.on('error', () => undefined));
    await Promise.all(this.clients.map((client) => client.connect()));
    this.adapter = createAdapter(pub, sub, { requestsTimeout: 2000 });
  }

  createIOServer(port: number, options?: ServerOptions): Server {
    // Devices send small events: a message over 16 KiB is refused by the transport.
    const server = super.createIOServer(port, { ...options, transports: ['websocket', 'polling'], maxHttpBufferSize: 16 * 1024 }) as Server;
    if (this.adapter) server.adapter(this.adapter);
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
