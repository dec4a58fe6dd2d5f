import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AppUser } from '../app-user/app-user.entity';
import { UserStatus } from '../common/user-status';
import { AppUserRepository } from '../app-user/app-user.repository';
import { AppError } from '../common/app-error';
import { ErrorCode, ErrorSpec } from '../common/error-codes';
import { onDuplicateEntry, retryTransaction } from '../common/transactions';
import { Attached, DeviceFields, DeviceRepository } from '../device/device.repository';
import { SessionIntegrity } from '../device/session-integrity.service';
import { KickReason, REVOKED_ERROR } from '../session/kick-reason';
import { InviteService } from '../invite/invite.service';
import { LoginAttempts } from '../session/login-attempts.service';
import { PasswordHasher } from '../session/password-hasher';
import { SessionService } from '../session/session.service';

export interface LoginResult {
  token: string;
  userId: number;
  deviceId: number;
  /** The device's new secret, to present at its next device login (CONTRACT section 3). */
  deviceSecret: string;
}

/** A login whose user changed while it ran answers as a login of that user would have. */
const LOGIN_REFUSED: Partial<Record<KickReason, ErrorSpec>> = { disabled: ErrorCode.USER_DISABLED, deleted: ErrorCode.USER_NOT_FOUND };

export interface Credentials {
  phone: string;
  password: string;
}

/** The client's ways in: as a device, by registering a phone, by logging in with one; and out. */
@Injectable()
export class AuthService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly users: AppUserRepository,
    private readonly devices: DeviceRepository,
    private readonly invites: InviteService,
    private readonly hasher: PasswordHasher,
    private readonly attempts: LoginAttempts,
    private readonly sessions: SessionService,
    private readonly integrity: SessionIntegrity,
  ) {}

  /** An unknown device gets a new guest user; a known one logs in as the user it belongs to. */
  async deviceLogin(device: DeviceFields): Promise<LoginResult> {
    const { user, attached } = await retryTransaction(this.dataSource, async (manager) => {
      const attached = await this.devices.attachToUserOf(manager, device, () => this.users.create(manager, {}));
      await this.endSessionUnderPreviousOwner(attached, device.identifier);
      return { user: await this.users.lockById(manager, attached.device.userId), attached };
    });
    if (!user) throw new AppError(ErrorCode.USER_NOT_FOUND);
    this.assertActive(user);
    return this.startSession(user.id, device.identifier, attached);
  }

  async register(input: Credentials & DeviceFields & { inviteCode?: string }): Promise<LoginResult> {
    const passwordHash = await this.hasher.hash(input.password);
    const { user, attached } = await retryTransaction(this.dataSource, async (manager) => {
      if (await manager.getRepository(AppUser).existsBy({ phone: input.phone })) throw new AppError(ErrorCode.PHONE_EXISTS);
      const referrerId = input.inviteCode ? (await this.invites.resolve(input.inviteCode)).id : null;
      const created = await this.users.create(manager, { phone: input.phone, passwordHash, referrerId }).catch(onDuplicateEntry(() => new AppError(ErrorCode.PHONE_EXISTS)));
      return { user: created, attached: await this.attach(manager, input, created.id) };
    });
    return this.startSession(user.id, input.identifier, attached);
  }

  /** `address`: the client's, for the failed-login limits (LoginAttempts). */
  async login(input: Credentials & DeviceFields, address: string): Promise<LoginResult> {
    const attempt = await this.attempts.reserve('app', input.phone, address);
    const user = await this.users.findByPhone(input.phone);
    if (!(await this.hasher.verify(user?.passwordHash, input.password)) || !user) throw new AppError(ErrorCode.BAD_CREDENTIALS);
    await attempt.succeeded();
    this.assertActive(user);
    const attached = await retryTransaction(this.dataSource, (manager) => this.attach(manager, input, user.id));
    return this.startSession(user.id, input.identifier, attached);
  }

  async logout(sessionId: string): Promise<void> {
    await this.sessions.revoke([sessionId], 'logout');
  }

  private async attach(manager: EntityManager, device: DeviceFields, userId: number): Promise<Attached> {
    const attached = await this.devices.attachToUser(manager, device, userId);
    await this.endSessionUnderPreviousOwner(attached, device.identifier);
    return attached;
  }

  /**
   * A device joining another account ends its session under the previous one as `replaced`,
   * before the move commits: change capture, seeing the move, then finds no session to end as
   * `migrated`, and the old token tells the truth (20103).
   */
  private async endSessionUnderPreviousOwner(attached: Attached, identifier: string): Promise<void> {
    if (attached.movedFrom !== null) await this.sessions.revokeDevices(attached.movedFrom, [identifier], 'replaced');
  }

  /**
   * A change that committed while this login ran (the user disabled or deleted, the device moved,
   * unbound or deleted, by the service or by hand) leaves no session behind: see SessionIntegrity.
   */
  private async startSession(userId: number, identifier: string, attached: Attached): Promise<LoginResult> {
    const { token, ended } = await this.integrity.issue(userId, identifier);
    if (ended) throw new AppError(LOGIN_REFUSED[ended] ?? REVOKED_ERROR[ended]);
    return { token, userId, deviceId: attached.device.id, deviceSecret: attached.secret };
  }

  private assertActive(user: AppUser): void {
    if (user.status !== UserStatus.Active) throw new AppError(ErrorCode.USER_DISABLED);
  }
}
