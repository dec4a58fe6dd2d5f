import { Injectable, Logger } from '@nestjs/common';
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
import { DeviceLimit, DeviceSeat, NO_SEAT } from '../session/device-limit';
import { KickReason, REVOKED_ERROR } from '../session/kick-reason';
import { InviteService } from '../invite/invite.service';
import { LoginAttempts } from '../session/login-attempts.service';
import { PasswordHasher } from '../session/password-hasher';
import { passwordFingerprint } from '../session/session-ending.policy';
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
/** A device login whose account's password changed, or whose device was signed out, meanwhile: its secret no longer stands. */
const DEVICE_LOGIN_REFUSED: Partial<Record<KickReason, ErrorSpec>> = {
  ...LOGIN_REFUSED,
  password_changed: ErrorCode.DEVICE_CREDENTIALS_INVALID,
  signed_out: ErrorCode.DEVICE_CREDENTIALS_INVALID,
  kicked: ErrorCode.DEVICE_CREDENTIALS_INVALID,
};
/** A phone login whose password changed while it ran used a password that is no longer right. */
const PHONE_LOGIN_REFUSED: Partial<Record<KickReason, ErrorSpec>> = { ...LOGIN_REFUSED, password_changed: ErrorCode.BAD_CREDENTIALS };

/** The device moved to another account between the owner's lookup and its locked read: look again. */
class OwnerChanged extends Error {}

export interface Credentials {
  phone: string;
  password: string;
}

/** The client's ways in: as a device, by registering a phone, by logging in with one; and out. */
@Injectable()
export class AuthService {
  private readonly logger = new Logger(AuthService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly users: AppUserRepository,
    private readonly devices: DeviceRepository,
    private readonly invites: InviteService,
    private readonly hasher: PasswordHasher,
    private readonly attempts: LoginAttempts,
    private readonly sessions: SessionService,
    private readonly integrity: SessionIntegrity,
    private readonly limit: DeviceLimit,
  ) {}

  /**
   * An unknown device gets a new guest user; a known one logs in as the user it belongs to. With
   * a device limit the login takes its turn in the owner's account (DeviceLimit), and starts over
   * if the device changed owner before its row was locked.
   */
  async deviceLogin(device: DeviceFields): Promise<LoginResult> {
    if (!this.limit.enabled) return this.deviceLoginAs(device, undefined, NO_SEAT);
    // A wrong secret is refused before the login waits for its account's turn: naming a device
    // (identifiers are public) must not let anyone hold up the account's logins.
    await this.devices.verifySecret(device);
    for (let attempt = 1; ; attempt += 1) {
      const owner = await this.devices.ownerOf(device.identifier);
      try {
        // An unknown device becomes a new guest account, which has no signed-in device to count.
        if (owner === null) return await this.deviceLoginAs(device, null, NO_SEAT);
        return await this.limit.admit(owner, device.identifier, (seat) => this.deviceLoginAs(device, owner, seat));
      } catch (err) {
        if (!(err instanceof OwnerChanged)) throw err;
        if (attempt >= 3) throw new AppError(ErrorCode.UNAVAILABLE, 'the device is changing owner; try again');
      }
    }
  }

  /** `expectedOwner`: the account whose turn this login holds (null: none, the device was unknown; undefined: no limit). */
  private async deviceLoginAs(device: DeviceFields, expectedOwner: number | null | undefined, seat: DeviceSeat): Promise<LoginResult> {
    const { user, attached } = await retryTransaction(this.dataSource, async (manager) => {
      const attached = await this.devices.attachToUserOf(manager, device, () => this.users.create(manager, {}));
      // A new guest account needs no turn; an existing account needs the one this login holds.
      const newGuest = attached.inserted || attached.movedFrom !== null;
      if (expectedOwner !== undefined && !newGuest && attached.device.userId !== expectedOwner) throw new OwnerChanged();
      // Checked before the transaction commits: a refused login rolls back the secret it rotated.
      const user = await this.users.lockById(manager, attached.device.userId);
      if (!user) throw new AppError(ErrorCode.USER_NOT_FOUND);
      this.assertActive(user);
      await this.endSessionUnderPreviousOwner(attached, device.identifier);
      return { user, attached };
    });
    return this.startSession(user, device.identifier, attached, seat, DEVICE_LOGIN_REFUSED);
  }

  /** A new account has no signed-in device yet: the limit cannot refuse it. */
  async register(input: Credentials & DeviceFields & { inviteCode?: string }): Promise<LoginResult> {
    const passwordHash = await this.hasher.hash(input.password);
    const { user, attached } = await retryTransaction(this.dataSource, async (manager) => {
      if (await manager.getRepository(AppUser).existsBy({ phone: input.phone })) throw new AppError(ErrorCode.PHONE_EXISTS);
      const referrerId = input.inviteCode ? (await this.invites.resolve(input.inviteCode)).id : null;
      const created = await this.users
        .create(manager, { phone: input.phone, passwordHash, referrerId })
        .catch(onDuplicateEntry(() => new AppError(ErrorCode.PHONE_EXISTS)));
      return { user: created, attached: await this.attach(manager, input, created) };
    });
    return this.startSession(user, input.identifier, attached, NO_SEAT, PHONE_LOGIN_REFUSED);
  }

  /** `address`: the client's, for the failed-login limits (LoginAttempts). */
  async login(input: Credentials & DeviceFields, address: string): Promise<LoginResult> {
    const attempt = await this.attempts.reserve('app', input.phone, address);
    const user = await this.users.findByPhone(input.phone);
    if (!(await this.hasher.verify(user?.passwordHash, input.password)) || !user) throw new AppError(ErrorCode.BAD_CREDENTIALS);
    await attempt.succeeded();
    this.assertActive(user);
    return this.limit.admit(user.id, input.identifier, async (seat) => {
      const attached = await retryTransaction(this.dataSource, (manager) => this.attach(manager, input, user));
      return this.startSession(user, input.identifier, attached, seat, PHONE_LOGIN_REFUSED);
    });
  }

  async logout(session: { sessionId: string; userId: number; identifier: string }): Promise<void> {
    await this.sessions.revoke([session.sessionId], 'logout', `user ${session.userId} (device ${session.identifier})`);
  }

  private async attach(manager: EntityManager, device: DeviceFields, user: AppUser): Promise<Attached> {
    const attached = await this.devices.attachToUser(manager, device, { id: user.id, pw: passwordFingerprint(user.passwordHash) });
    await this.endSessionUnderPreviousOwner(attached, device.identifier);
    return attached;
  }

  /**
   * A device joining another account ends its session under the previous one as `replaced`,
   * before the move commits: change capture, seeing the move, then finds no session to end as
   * `migrated`, and the old token tells the truth (20103).
   */
  private async endSessionUnderPreviousOwner(attached: Attached, identifier: string): Promise<void> {
    if (attached.movedFrom !== null) await this.sessions.revokeDevices(attached.movedFrom, [identifier], 'replaced', `login of device ${identifier}`);
  }

  /**
   * Makes room under the device limit, then issues the session on the password `user` has as this
   * login read it. A change that committed while this login ran (the user disabled or deleted,
   * the password changed, the device moved, unbound or deleted, by the service or by hand) leaves
   * no session behind: see SessionIntegrity.
   */
  private async startSession(
    user: AppUser,
    identifier: string,
    attached: Attached,
    seat: DeviceSeat,
    refused: Partial<Record<KickReason, ErrorSpec>>,
  ): Promise<LoginResult> {
    await seat.makeRoom();
    const { token, ended } = await this.integrity.issue(user.id, identifier, passwordFingerprint(user.passwordHash));
    if (ended) {
      await retryTransaction(this.dataSource, (manager) => this.devices.restoreReplacedSecret(manager, attached)).catch((err: Error) =>
        this.logger.warn(`login of device ${identifier} refused (${ended}); the secret it replaced could not be put back: ${err.message}`),
      );
      throw new AppError(refused[ended] ?? REVOKED_ERROR[ended]);
    }
    return { token, userId: user.id, deviceId: attached.device.id, deviceSecret: attached.secret };
  }

  private assertActive(user: AppUser): void {
    if (user.status !== UserStatus.Active) throw new AppError(ErrorCode.USER_DISABLED);
  }
}
