import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { endingsOfDeviceChange, SessionEnding } from '../session/session-ending.policy';
import { SessionService } from '../session/session.service';
import { Device } from './device.entity';
import { DevicePresence } from './device-presence';
import { DeviceRepository } from './device.repository';

export interface DeviceView {
  identifier: string;
  name: string;
  platform: string;
  online: boolean;
  current: boolean;
}

/**
 * Devices of an account: listing them, removing one, moving all of them to another account.
 * Every change commits first, then revokes the sessions it ended (which kicks their sockets).
 */
@Injectable()
export class DeviceManager {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly devices: DeviceRepository,
    private readonly presence: DevicePresence,
    private readonly sessions: SessionService,
  ) {}

  async list(userId: number, currentIdentifier: string): Promise<DeviceView[]> {
    const devices = await this.devices.findByUser(userId);
    const online = await this.presence.online(devices.map((d) => d.identifier));
    return devices.map((d) => ({
      identifier: d.identifier,
      name: d.name,
      platform: d.platform,
      online: online.has(d.identifier),
      current: d.identifier === currentIdentifier,
    }));
  }

  /** Removes the device from the account (its row goes); its sessions end as `unbound`. */
  async unbind(userId: number, identifier: string): Promise<void> {
    // The cached row answers the common 404 without a transaction; the locked read below decides.
    const cached = await this.devices.findByIdentifier(identifier);
    if (!cached || cached.userId !== userId) throw new AppError(ErrorCode.DEVICE_NOT_FOUND);
    const removed = await this.dataSource.transaction(async (manager) => {
      const device = await manager.getRepository(Device).findOne({ where: { identifier }, lock: { mode: 'pessimistic_write' } });
      if (!device || device.userId !== userId) throw new AppError(ErrorCode.DEVICE_NOT_FOUND);
      const image = { identifier: device.identifier, userId: device.userId };
      await this.devices.remove(device, manager);
      return image;
    });
    await this.sessions.end(endingsOfDeviceChange(removed, null));
  }

  /**
   * Inside the caller's transaction: moves every device of `fromUserId`; returns the endings the
   * move makes, for the caller to apply once it committed (`migrated`).
   */
  async moveAll(manager: EntityManager, fromUserId: number, toUserId: number): Promise<SessionEnding[]> {
    const moved = await this.devices.moveDevicesToUser(manager, fromUserId, toUserId);
    return moved.flatMap((device) => endingsOfDeviceChange({ identifier: device.identifier, userId: fromUserId }, device));
  }

  /** After the move committed: every session of every moved device ends as `migrated`. */
  async endMovedSessions(endings: SessionEnding[]): Promise<void> {
    await this.sessions.end(endings);
  }
}
