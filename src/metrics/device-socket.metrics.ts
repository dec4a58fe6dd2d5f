import { OnGatewayConnection, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import { Counter, Gauge } from 'prom-client';
import type { Namespace, Socket } from 'socket.io';
import { DEVICES_NAMESPACE } from '../device/device-events';
import { MetricsRegistry } from './metrics.registry';

/**
 * Watches namespace /devices beside DeviceGateway without touching it: connected sockets are
 * counted when scraped, and every `kicked` event a local socket is sent (by this process or, through
 * the Redis adapter, by another) is counted by reason. Sum over processes for the fleet.
 */
@WebSocketGateway({ namespace: DEVICES_NAMESPACE })
export class DeviceSocketMetrics implements OnGatewayConnection {
  @WebSocketServer() private readonly namespace: Namespace;
  private readonly kicked: Counter<'reason'>;

  constructor(registry: MetricsRegistry) {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    new Gauge({
      name: 'hi_devices_connected',
      help: 'device sockets connected to this process (namespace /devices)',
      registers: [registry],
      collect() {
        this.set(self.namespace?.sockets.size ?? 0);
      },
    });
    this.kicked = new Counter({
      name: 'hi_sockets_kicked_total',
      help: 'device sockets of this process sent `kicked`, by reason',
      labelNames: ['reason'],
      registers: [registry],
    });
  }

  handleConnection(socket: Socket): void {
    socket.onAnyOutgoing((event: string, payload?: { reason?: unknown }) => {
      if (event === 'kicked') this.kicked.inc({ reason: typeof payload?.reason === 'string' ? payload.reason : 'unknown' });
    });
  }
}
