import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, Not } from 'typeorm';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { PendingEndings, SessionEndingOutbox } from '../session/session-ending.outbox';
import { endingsOfDeviceChange, SignOutMark } from '../session/session-ending.policy';
import { EndedBy, SessionService } from '../session/session.service';
import { Device } from './device.entity';
import { DevicePresence } from './device-presence';
import { DeviceRepository } from './device.repository';

export interface DeviceView {
  identifier: string;
  name: string;
  platform: string;
  online: boolean;
  current: boolean;
  signedIn: boolean;
  signedInAt: string | null;
  lastActiveAt: string | null;
}

/**
 * Devices of an account: listing them with their session state, signing one or the others out,
 * removing one, moving all of them to another account. Every change commits first, then revokes
 * the sessions it ended (which kicks their sockets).
 */
@Injectable()
export class DeviceManager {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly devices: DeviceRepository,
    private readonly presence: DevicePresence,
    private readonly sessions: SessionService,
    private readonly endings: SessionEndingOutbox,
  ) {}

  /** The account's devices; `currentIdentifier`: the device asking (null: staff asking). */
  async list(userId: number, currentIdentifier: string | null): Promise<DeviceView[]> {
    const devices = await this.devices.findByUser(userId);
    const identifiers = devices.map((d) => d.identifier);
    const [online, live] = await Promise.all([this.presence.online(identifiers), this.sessions.currentSessionsOfDevices(identifiers)]);
    const sessionOf = new Map(live.filter((s) => s.userId === userId).map((s) => [s.identifier, s]));
    return devices.map((d) => {
      const session = sessionOf.get(d.identifier);
      return {
        identifier: d.identifier,
        name: d.name,
        platform: d.platform,
        online: online.has(d.identifier),
        current: d.identifier === currentIdentifier,
        signedIn: session !== undefined,
        signedInAt: session ? new Date(session.issuedAt).toISOString() : null,
        lastActiveAt: session ? new Date(session.activeAt ?? session.issuedAt).toISOString() : null,
      };
    });
  }

  /**
   * Ends the device's session without unbinding it (`signed_out` by the account, `kicked` by
   * staff). 404 for a device that is not the account's; a device that is not signed in is fine.
   */
  async signOut(userId: number, identifier: string, reason: SignOutMark, by: EndedBy): Promise<void> {
    const cached = await this.devices.findByIdentifier(identifier);
    if (!cached || cached.userId !== userId) throw new AppError(ErrorCode.DEVICE_NOT_FOUND);
    // The secret stops first: a device login racing the sign-out either finishes before (and its
    // session is ended below) or finds the secret stopped; one that issues its session after the
    // revocation is ended by its own check (SessionIntegrity), which sees the mark.
    const pending = await this.dataSource.transaction(async (manager) => {
      const device = await manager.getRepository(Device).findOne({ where: { identifier }, lock: { mode: 'pessimistic_write' } });
      if (!device || device.userId !== userId) throw new AppError(ErrorCode.DEVICE_NOT_FOUND);
      await this.devices.markSignedOut(manager, [device], reason);
      return this.endings.record(manager, [{ kind: 'device', userId, identifier, reason }], by);
    });
    await this.endings.apply(pending);
  }

  /** Signs every other device of the account out (`signed_out`); returns how many sessions ended. */
  async signOutOthers(userId: number, keep: { sessionId: string; identifier: string }, by: EndedBy): Promise<number> {
    const pending = await this.dataSource.transaction(async (manager) => {
      const others = await manager.getRepository(Device).find({ where: { userId, identifier: Not(keep.identifier) }, lock: { mode: 'pessimistic_write' } });
      await this.devices.markSignedOut(manager, others, 'signed_out');
      const endings = others.map((device) => ({ kind: 'device' as const, userId, identifier: device.identifier, reason: 'signed_out' as const }));
      return this.endings.record(manager, endings, by);
    });
    return (await this.endings.apply(pending)).length;
  }

  /** Removes the device from the account (its row goes); its sessions end as `unbound`. */
  async unbind(userId: number, identifier: string, by: EndedBy): Promise<void> {
    // The cached row answers the common 404 without a transaction; the locked read below decides.
    const cached = await this.devices.findByIdentifier(identifier);
    if (!cached || cached.userId !== userId) throw new AppError(ErrorCode.DEVICE_NOT_FOUND);
    const removed = await this.dataSource.transaction(async (manager) => {
      const device = await manager.getRepository(Device).findOne({ where: { identifier }, lock: { mode: 'pessimistic_write' } });
      if (!device || device.userId !== userId) throw new AppError(ErrorCode.DEVICE_NOT_FOUND);
      const image = { identifier: device.identifier, userId: device.userId };
      await this.devices.remove(device, manager);
      return this.endings.record(manager, endingsOfDeviceChange(image, null), by);
    });
    await this.endings.apply(removed);
  }

  /**
   * Inside the caller's transaction: moves every device of `fromUserId` and records the endings
   * the move makes (`migrated`), for the caller to apply once it committed (endMovedSessions).
   */
  async moveAll(manager: EntityManager, fromUserId: number, to: { id: number; pw: string }, by: EndedBy): Promise<PendingEndings | null> {
    const moved = await this.devices.moveDevicesToUser(manager, fromUserId, to.id, to.pw);
    return this.endings.record(
      manager,
      moved.flatMap((device) => endingsOfDeviceChange({ identifier: device.identifier, userId: fromUserId }, device)),
      by,
    );
  }

  /** After the move committed: every session of every moved device ends as `migrated`. */
  async endMovedSessions(pending: PendingEndings | null): Promise<void> {
    await this.endings.apply(pending);
  }
}
