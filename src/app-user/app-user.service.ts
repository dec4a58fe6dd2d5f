import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { endingsOfDeviceChange, endingsOfUserChange } from '../session/session-ending.policy';
import { SessionEndingOutbox } from '../session/session-ending.outbox';
import type { EndedBy } from '../session/session.service';
import { DeviceRepository } from '../device/device.repository';
import { AppUser } from './app-user.entity';
import { UserStatus } from '../common/user-status';
import { AppUserRepository } from './app-user.repository';

const MAX_TIMED_DISABLE_MS = 10 * 365 * 86400_000;

/** A user's own profile and the back office's changes to users. */
@Injectable()
export class AppUserService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly users: AppUserRepository,
    private readonly devices: DeviceRepository,
    private readonly endings: SessionEndingOutbox,
  ) {}

  async get(id: number, cached?: string | null): Promise<AppUser> {
    const user = await this.users.findById(id, cached);
    if (!user) throw new AppError(ErrorCode.USER_NOT_FOUND);
    return user;
  }

  async findByPhone(phone: string): Promise<AppUser | null> {
    return this.users.findByPhone(phone);
  }

  list(cursor: number, limit: number): Promise<AppUser[]> {
    return this.users.findPage(cursor, limit);
  }

  async rename(id: number, nickname: string): Promise<AppUser> {
    return this.change(id, `user ${id}`, (user) => {
      user.nickname = nickname;
    });
  }

  /**
   * Disabling ends every session of the user and kicks its sockets (`disabled`); with `until` the
   * account comes back by itself then (TimedEnable). Enabling clears any such time.
   */
  async setStatus(id: number, status: UserStatus, until: Date | null, by: EndedBy): Promise<AppUser> {
    if (until && status !== UserStatus.Disabled) throw new AppError(ErrorCode.INVALID_PARAM, 'disabledUntil goes with status 2 (disable)');
    if (until && (until.getTime() <= Date.now() || until.getTime() > Date.now() + MAX_TIMED_DISABLE_MS)) {
      throw new AppError(ErrorCode.INVALID_PARAM, 'disabledUntil must be in the future and within 10 years');
    }
    return this.change(id, by, (row) => {
      row.status = status;
      row.disabledUntil = status === UserStatus.Disabled ? until : null;
    });
  }

  /**
   * Enables again, through the model layer, the accounts whose timed disable has lapsed, a few at
   * a time; rows another process is enabling are skipped. Returns their ids.
   */
  async enableLapsed(now: Date, limit = 100): Promise<number[]> {
    return this.dataSource.transaction(async (manager) => {
      const due = await manager
        .getRepository(AppUser)
        .createQueryBuilder('u')
        .where('u.status = :disabled AND u.disabled_until IS NOT NULL AND u.disabled_until <= :now', { disabled: UserStatus.Disabled, now })
        .orderBy('u.disabled_until')
        .limit(limit)
        .setLock('pessimistic_write')
        .setOnLocked('skip_locked')
        .getMany();
      for (const user of due) {
        user.status = UserStatus.Active;
        user.disabledUntil = null;
        await this.users.save(user, manager);
      }
      return due.map((u) => u.id);
    });
  }

  /** Deletes the user and its devices through the model layer, then ends their sessions (`deleted`). */
  async delete(id: number, by: EndedBy): Promise<void> {
    const pending = await this.dataSource.transaction(async (manager) => {
      const user = await this.users.lockById(manager, id);
      if (!user) throw new AppError(ErrorCode.USER_NOT_FOUND);
      // Before the remove, which clears the entity's id: the sessions end as `deleted`, not `unbound`.
      const userEnded = endingsOfUserChange(user, null);
      const devices = await this.devices.removeAllOfUser(manager, id);
      await this.users.remove(user, manager);
      return this.endings.record(manager, [...userEnded, ...devices.flatMap((device) => endingsOfDeviceChange(device, null))], by);
    });
    await this.endings.apply(pending);
  }

  /** Changes the row as MySQL has it (locked), then ends the sessions the change ended. */
  private async change(id: number, by: EndedBy, apply: (user: AppUser) => void): Promise<AppUser> {
    const { after, pending } = await this.dataSource.transaction(async (manager) => {
      const user = await this.users.lockById(manager, id);
      if (!user) throw new AppError(ErrorCode.USER_NOT_FOUND);
      const before = { id: user.id, status: user.status, passwordHash: user.passwordHash };
      apply(user);
      const saved = await this.users.save(user, manager);
      return { after: saved, pending: await this.endings.record(manager, endingsOfUserChange(before, saved), by) };
    });
    await this.endings.apply(pending);
    return after;
  }
}
