import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { endingsOfDeviceChange, endingsOfUserChange } from '../session/session-ending.policy';
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
    return this.change(id, (user) => {
      user.nickname = nickname;
    });
  }

  /** Disabling ends every session of the user and kicks its sockets (`disabled`). */
  async setStatus(id: number, status: UserStatus): Promise<AppUser> {
    return this.change(id, (row) => {
      row.status = status;
    });
  }

  /** Deletes the user and its devices through the model layer, then ends their sessions (`deleted`). */
  async delete(id: number): Promise<void> {
    const endings = await this.dataSource.transaction(async (manager) => {
      const user = await this.users.lockById(manager, id);
      if (!user) throw new AppError(ErrorCode.USER_NOT_FOUND);
      const devices = await this.devices.removeAllOfUser(manager, id);
      await this.users.remove(user, manager);
      return [...endingsOfUserChange(user, null), ...devices.flatMap((device) => endingsOfDeviceChange(device, null))];
    });
    await this.sessions.end(endings);
  }

  /** Changes the row as MySQL has it (locked), then ends the sessions the change ended. */
  private async change(id: number, apply: (user: AppUser) => void): Promise<AppUser> {
    const { before, after } = await this.dataSource.transaction(async (manager) => {
      const user = await this.users.lockById(manager, id);
      if (!user) throw new AppError(ErrorCode.USER_NOT_FOUND);
      const image = { id: user.id, status: user.status };
      apply(user);
      return { before: image, after: await this.users.save(user, manager) };
    });
    await this.sessions.end(endingsOfUserChange(before, after));
    return after;
  }
}
