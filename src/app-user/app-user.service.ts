import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { SessionService } from '../session/session.service';
import { DeviceRepository } from '../device/device.repository';
import { AppUser } from './app-user.entity';
import { UserStatus } from '../common/user-status';
import { AppUserRepository } from './app-user.repository';

/** A user's own profile and the back office's changes to users. */
@Injectable()
export class AppUserService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly users: AppUserRepository,
    private readonly devices: DeviceRepository,
    private readonly sessions: SessionService,
  ) {}

  async get(id: number): Promise<AppUser> {
    const user = await this.users.findById(id);
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
    return this.change(id, (user) => {
      user.nickname = nickname;
    });
  }

  /** Disabling revokes every session of the user and kicks its sockets (`disabled`). */
  async setStatus(id: number, status: UserStatus): Promise<AppUser> {
    const user = await this.change(id, (row) => {
      row.status = status;
    });
    if (status === UserStatus.Disabled) await this.sessions.revokeUser(id, 'disabled');
    return user;
  }

  /** Deletes the user and its devices through the model layer, then ends its sessions (`deleted`). */
  async delete(id: number): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const user = await this.users.lockById(manager, id);
      if (!user) throw new AppError(ErrorCode.USER_NOT_FOUND);
      await this.devices.removeAllOfUser(manager, id);
      await this.users.remove(user, manager);
    });
    // Every session of the user's devices was issued under the user, so user_sessions holds them all.
    await this.sessions.revokeUser(id, 'deleted');
  }

  private async change(id: number, apply: (user: AppUser) => void): Promise<AppUser> {
    return this.dataSource.transaction(async (manager) => {
      const user = await this.users.lockById(manager, id);
      if (!user) throw new AppError(ErrorCode.USER_NOT_FOUND);
      apply(user);
      return this.users.save(user, manager);
    });
  }
}
