import { Inject, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { RedisClient } from '../redis/redis-client';
import { OnGatewayConnection, OnGatewayDisconnect, OnGatewayInit, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { AppConfig } from '../config/app-config';
import { REDIS_CLIENT } from '../redis/redis.constants';
import { isKickReason, KickReason } from '../session/kick-reason';
import { OnSessionEvent, SessionEvents } from '../session/session-events';
import { SessionService } from '../session/session.service';
import { SessionStore } from '../session/session.store';
import { DevicePresence } from './device-presence';
import { SessionIntegrity } from './session-integrity.service';
import { DEVICES_NAMESPACE, DeviceSocketData, DeviceToServerEvents, Rooms, ServerToDeviceEvents } from './device-events';

type DeviceNamespace = Namespace<DeviceToServerEvents, ServerToDeviceEvents, Record<string, never>, DeviceSocketData>;
type DeviceSocket = Socket<DeviceToServerEvents, ServerToDeviceEvents, Record<string, never>, DeviceSocketData>;

/**
 * The DeviceManager's socket side. Connections authenticate in the handshake and are filed by
 * device and by session (rooms), never by the user they had at connect time, so a migration
 * cannot hide one. A revoked session is kicked on every process through the Redis adapter, and
 * each process re-checks its own sockets' sessions on inbound events and every sweep, which heals
 * a kick message that Pub/Sub lost.
 */
const RECONNECT_SWEEPS_MS = [500, 1500];

@WebSocketGateway({ namespace: DEVICES_NAMESPACE })
export class DeviceGateway implements OnGatewayInit, OnGatewayConnection, OnGatewayDisconnect, OnApplicationShutdown {
  @WebSocketServer() private readonly namespace: DeviceNamespace;
  private readonly logger = new Logger(DeviceGateway.name);
  private sweepTimer?: NodeJS.Timeout;
  private touchTimer?: NodeJS.Timeout;

  constructor(
    private readonly sessions: SessionService,
    private readonly store: SessionStore,
    private readonly presence: DevicePresence,
    private readonly integrity: SessionIntegrity,
    private readonly config: AppConfig,
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
  ) {}

  afterInit(namespace: DeviceNamespace): void {
    namespace.use((socket, next) => {
      const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
      this.sessions
        .authenticate(typeof token === 'string' ? token : null)
        .then(async (session) => {
          socket.data = { sessionId: session.sessionId, userId: session.userId, identifier: session.identifier };
          const entry = { ...socket.data, socketId: socket.id };
          if (!(await this.presence.claim(entry, this.config.SOCKET_MAX_PER_SESSION, this.presenceTtlMs))) {
            const msg = `at most ${this.config.SOCKET_MAX_PER_SESSION} connections per session`;
            return next(Object.assign(new Error('too many connections'), { data: { code: ErrorCode.TOO_MANY_REQUESTS.code, msg } }));
          }
          next();
        })
        .catch((err: unknown) => {
          const refusal = new Error('unauthorized') as Error & { data?: unknown };
          if (err instanceof AppError) refusal.data = { code: err.code, msg: err.message };
          else this.logger.warn(`handshake check failed: ${(err as Error).message}`);
          next(refusal);
        });
    });
    this.sweepTimer = setInterval(() => this.sweepSoon(), this.sweepMs);
    this.sweepTimer.unref();
    // An open socket is use of its session: a connected device does not reach the idle timeout,
    // shows as active in the device list, and is not the "least recently active" of its account.
    this.touchTimer = setInterval(() => void this.touchOpenSessions().catch(() => undefined), this.store.touchIntervalSeconds * 1000);
    this.touchTimer.unref();
    // Kicks published while Redis was away were lost with its Pub/Sub: once it is back (and the
    // adapter has subscribed again), look at once rather than at the next sweep.
    this.redis.on('ready', () => RECONNECT_SWEEPS_MS.forEach((ms) => setTimeout(() => this.sweepSoon(), ms).unref()));
  }

  private sweepSoon(): void {
    void this.sweep().catch((err: Error) => this.logger.warn(`sweep: ${err.message}`));
  }

  async handleConnection(socket: DeviceSocket): Promise<void> {
    const { identifier, sessionId } = socket.data;
    await socket.join([Rooms.device(identifier), Rooms.session(sessionId)]);
    const withinRate = this.eventRate();
    socket.use((_packet, next) => {
      // A flood is cut off before it costs a Redis round trip per event.
      if (!withinRate()) return this.refuseFlood(socket);
      // An inbound event from a session that ended is answered with the kick it missed; one of a
      // live session counts as its use.
      this.sessions.checkAlive(sessionId).then(
        (alive) => (alive ? next() : void this.kickLocal(socket)),
        () => next(),
      );
    });
    await this.presence.add({ ...socket.data, socketId: socket.id }, this.presenceTtlMs).catch(() => undefined);
    // The session may have ended between the handshake and joining the rooms.
    if (!(await this.sessions.isAlive(sessionId).catch(() => true))) await this.kickLocal(socket);
  }

  async handleDisconnect(socket: DeviceSocket): Promise<void> {
    if (socket.data?.identifier) await this.presence.remove({ ...socket.data, socketId: socket.id }).catch(() => undefined);
  }

  /** SOCKET_EVENTS_PER_SECOND per socket, in fixed one-second windows. */
  private eventRate(): () => boolean {
    const limit = this.config.SOCKET_EVENTS_PER_SECOND;
    let windowStart = 0;
    let count = 0;
    return () => {
      const now = Date.now();
      if (now - windowStart >= 1000) {
        windowStart = now;
        count = 0;
      }
      count += 1;
      return count <= limit;
    };
  }

  private refuseFlood(socket: DeviceSocket): void {
    if (socket.disconnected) return;
    socket.emit('error', { code: ErrorCode.TOO_MANY_REQUESTS.code, msg: `more than ${this.config.SOCKET_EVENTS_PER_SECOND} events per second` });
    socket.disconnect(true);
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweepTimer);
    clearInterval(this.touchTimer);
  }

  private async touchOpenSessions(): Promise<void> {
    await this.sessions.touchAll([...new Set([...this.namespace.sockets.values()].map((s) => s.data.sessionId))]);
  }

  /** Sends `kicked` to every socket of each ended session, on every process, then disconnects them. */
  @OnSessionEvent('session.ended')
  kick({ ended }: SessionEvents['session.ended']): void {
    for (const { session, reason } of ended) {
      const room = Rooms.session(session.sessionId);
      this.namespace.to(room).emit('kicked', { reason });
      this.namespace.in(room).disconnectSockets(true);
    }
  }

  /**
   * Re-checks this process's sockets: a session that is gone had its kick message lost; one that
   * still exists but that MySQL says may not live (a zombie that slipped past every other check)
   * is ended here, which kicks its sockets on every process. Returns how many sockets it kicked.
   */
  async sweep(): Promise<number> {
    const sockets = [...this.namespace.sockets.values()];
    if (sockets.length === 0) return 0;
    await this.presence
      .refresh(
        sockets.map((s) => ({ ...s.data, socketId: s.id })),
        this.presenceTtlMs,
      )
      .catch(() => undefined);
    // The sessions as Redis holds them (with the password they stand on), not as the sockets remember them.
    const live = await this.store.sessionsById([...new Set(sockets.map(({ data }) => data.sessionId))]);
    const ended = new Set(sockets.map(({ data }) => data.sessionId).filter((sid) => !live.has(sid)));
    // Each ends through SessionService, whose one log line per session names the sweep as its actor.
    const zombies = await this.integrity.endInvalid([...live.values()], 'socket sweep');
    const stale = sockets.filter((s) => ended.has(s.data.sessionId));
    await Promise.all(stale.map((socket) => this.kickLocal(socket)));
    return stale.length + sockets.filter((s) => zombies.some((z) => z.sessionId === s.data.sessionId)).length;
  }

  private async kickLocal(socket: DeviceSocket): Promise<void> {
    const reason = await this.store.revokedReason(socket.data.sessionId).catch(() => null);
    const why: KickReason = isKickReason(reason) ? reason : 'logout';
    socket.emit('kicked', { reason: why });
    socket.disconnect(true);
  }

  private get sweepMs(): number {
    return this.config.SOCKET_SWEEP_SECONDS * 1000;
  }

  private get presenceTtlMs(): number {
    return this.sweepMs * 3;
  }
}
