import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { LoginAttempts } from '../session/login-attempts.service';
import { PasswordHasher } from '../session/password-hasher';
import { UserStatus } from '../common/user-status';
import { onDuplicateEntry, retryTransaction } from '../common/transactions';
import { CreateOaUserDto, UpdateOaUserDto } from './oa-user.dto';
import { OaUser } from './oa-user.entity';
import { OaUserRepository } from './oa-user.repository';
import { StaffSessionService } from './staff-session.service';

export type EnsureAdminResult = 'created' | 'exists' | 'reset';

export interface EnsureAdminOptions {
  /** The name of a new admin ('admin' when absent); with reset, also the new name of an existing one. */
  name?: string;
  /** An existing staff user of the phone gets the password, role admin, status active, and loses its sessions. */
  reset?: boolean;
}

/** The phone is oa_users' only unique key besides the primary key, so a duplicate entry is a taken phone. */
const phoneExistsOnDuplicate = onDuplicateEntry(() => new AppError(ErrorCode.PHONE_EXISTS));

@Injectable()
export class OaUserService {
  private readonly logger = new Logger(OaUserService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly staff: OaUserRepository,
    private readonly hasher: PasswordHasher,
    private readonly attempts: LoginAttempts,
    private readonly sessions: StaffSessionService,
  ) {}

  /** `address`: the client's, for the failed-login limits (LoginAttempts). */
  async login(phone: string, password: string, address: string): Promise<{ token: string }> {
    const attempt = await this.attempts.reserve('oa', phone, address);
    const user = await this.staff.findByPhone(phone);
    if (!(await this.hasher.verify(user?.passwordHash, password)) || !user) throw new AppError(ErrorCode.BAD_CREDENTIALS);
    await attempt.succeeded();
    if (user.status !== UserStatus.Active) throw new AppError(ErrorCode.USER_DISABLED);
    return { token: await this.sessions.issue(user) };
  }

  list(): Promise<OaUser[]> {
    return this.staff.findAll();
  }

  async create(input: CreateOaUserDto): Promise<OaUser> {
    if (await this.staff.findByPhone(input.phone)) throw new AppError(ErrorCode.PHONE_EXISTS);
    const passwordHash = await this.hasher.hash(input.password);
    return this.staff.create({ phone: input.phone, name: input.name, role: input.role, passwordHash }).catch(phoneExistsOnDuplicate);
  }

  /**
   * Changes a staff user from the row as the database has it, locked for the transaction: never
   * from a cached copy, which could write back a field changed meanwhile (hand SQL, another edit).
   * A phone taken concurrently re-runs the transaction, which then answers 20001; the cache is
   * invalidated by the subscriber after commit.
   */
  async update(id: number, input: UpdateOaUserDto, by: string): Promise<OaUser> {
    // Hashed before the transaction: argon2 is slow, the row lock should not wait for it.
    const passwordHash = input.password !== undefined ? await this.hasher.hash(input.password) : undefined;
    const saved = await retryTransaction(this.dataSource, async (manager) => {
      const user = await this.staff.lockById(manager, id);
      if (!user) throw new AppError(ErrorCode.OA_USER_NOT_FOUND);
      if (input.phone !== undefined && input.phone !== user.phone && (await this.staff.phoneTaken(manager, input.phone))) {
        throw new AppError(ErrorCode.PHONE_EXISTS);
      }
      Object.assign(user, {
        ...(input.phone !== undefined && { phone: input.phone }),
        ...(input.name !== undefined && { name: input.name }),
        ...(input.role !== undefined && { role: input.role }),
        ...(input.status !== undefined && { status: input.status }),
        ...(passwordHash !== undefined && { passwordHash }),
      });
      return this.staff.save(user, manager);
    }).catch(phoneExistsOnDuplicate);
    if (input.status === UserStatus.Disabled) await this.sessions.revokeAll(id, 'disabled', by);
    else if (input.password !== undefined) await this.sessions.revokeAll(id, 'password_changed', by);
    return saved;
  }

  /**
   * ADMIN_PHONE/ADMIN_PASSWORD at start-up, and `npm run admin -- create`: creates the admin if the
   * phone is new. With `reset`, an existing staff user of the phone becomes an active admin with
   * this password, every staff session it had is revoked and its failed logins are forgotten.
   */
  async ensureAdmin(phone: string, password: string, options: EnsureAdminOptions = {}): Promise<EnsureAdminResult> {
    if (options.reset) {
      const passwordHash = await this.hasher.hash(password);
      const user = await retryTransaction(this.dataSource, async (manager) => {
        const row = await this.staff.lockByPhone(manager, phone);
        if (!row) return null;
        Object.assign(row, { passwordHash, role: 'admin', status: UserStatus.Active, ...(options.name !== undefined && { name: options.name }) });
        return this.staff.save(row, manager);
      });
      if (user) {
        await this.sessions.revokeAll(user.id, 'reset', 'the admin command line');
        await this.attempts.forget('oa', phone);
        this.logger.log(`reset staff user ${phone} to an active admin`);
        return 'reset';
      }
    } else if (await this.staff.findByPhone(phone)) {
      return 'exists';
    }
    try {
      await this.create({ phone, password, name: options.name ?? 'admin', role: 'admin' });
    } catch (err) {
      // Another process created it first (two servers starting, a CLI run beside them).
      if (err instanceof AppError && err.code === ErrorCode.PHONE_EXISTS.code && !options.reset) return 'exists';
      throw err;
    }
    this.logger.log(`created admin staff user ${phone}`);
    return 'created';
  }
}
