import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppUserRepository } from '../app-user/app-user.repository';
import { DeviceRepository } from '../device/device.repository';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { MailTransport } from '../email/mail-transport';
import { CODE_TTL_SECONDS, VerificationCodes } from '../email/verification-codes';
import { LoginAttempts } from '../session/login-attempts.service';
import { SessionEndingOutbox } from '../session/session-ending.outbox';
import { PasswordHasher } from '../session/password-hasher';
import { endingsOfUserChange, passwordFingerprint } from '../session/session-ending.policy';
import { AuthenticatedSession, SessionService } from '../session/session.service';

/**
 * Setting, changing and resetting a client account's password. A new password ends every session
 * that does not stand on it (session-ending.policy.ts, `password_changed`): after a change, every
 * session but the caller's; after a reset, all of them. The caller's session is made to stand on
 * both passwords before the change commits, so that neither this process nor change capture, nor
 * a login that read the old password, can leave the wrong sessions alive.
 */
@Injectable()
export class PasswordService {
  private readonly logger = new Logger('Password');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly users: AppUserRepository,
    private readonly hasher: PasswordHasher,
    private readonly attempts: LoginAttempts,
    private readonly sessions: SessionService,
    private readonly codes: VerificationCodes,
    private readonly mail: MailTransport,
    private readonly devices: DeviceRepository,
    private readonly endings: SessionEndingOutbox,
  ) {}

  /**
   * PUT /me/password. `currentPassword` is needed when the account has a password; wrong ones
   * count as failed logins of the account (LOGIN_FAILURES_PER_PHONE per address). Returns how many
   * other sessions ended.
   */
  async change(session: AuthenticatedSession, currentPassword: string | undefined, newPassword: string, address: string): Promise<number> {
    // Checked against MySQL, not the cache: a hand-written change the cache has not seen yet counts.
    const user = await this.users.findByIdUncached(session.userId);
    if (!user) throw new AppError(ErrorCode.USER_NOT_FOUND);
    if (user.passwordHash !== null) {
      if (currentPassword === undefined) throw new AppError(ErrorCode.INVALID_PARAM, 'currentPassword is required: the account has a password');
      const attempt = await this.attempts.reserve('password', String(user.id), address);
      if (!(await this.hasher.verify(user.passwordHash, currentPassword))) throw new AppError(ErrorCode.CURRENT_PASSWORD_INCORRECT);
      await attempt.succeeded();
    }
    const passwordHash = await this.hasher.hash(newPassword);
    const fingerprint = passwordFingerprint(passwordHash);
    if (!(await this.sessions.restamp(session.sessionId, [fingerprint], 'add'))) throw new AppError(ErrorCode.UNAUTHORIZED);
    const change = await this.dataSource.transaction(async (manager) => {
      const row = await this.users.lockById(manager, user.id);
      // Checked against the row as it is now: a change that came in between wins, and this one is refused.
      if (!row || row.passwordHash !== user.passwordHash) throw new AppError(ErrorCode.CURRENT_PASSWORD_INCORRECT, 'the password changed meanwhile');
      const before = { id: row.id, status: row.status, passwordHash: row.passwordHash };
      row.passwordHash = passwordHash;
      const after = await this.users.save(row, manager);
      // The caller's device keeps its secret; every other device's stops with the old password.
      await this.devices.restandSecret(manager, session.identifier, fingerprint);
      return this.endings.record(manager, endingsOfUserChange(before, after), `password change by user ${session.userId} (device ${session.identifier})`);
    });
    await this.sessions.restamp(session.sessionId, [fingerprint], 'replace').catch(() => undefined);
    return (await this.endings.apply(change)).length;
  }

  /**
   * POST /auth/password/code. Mails a reset code when an account has the email; answers the same,
   * as fast, when none has (the mail goes out after the answer; a failure is logged). The code is
   * the requester's (the account and the client address that asked): a stranger asking for the
   * same email neither replaces nor burns it.
   */
  async sendResetCode(email: string, address: string): Promise<{ expiresInSeconds: number }> {
    const user = await this.users.findByEmail(email);
    if (!user) {
      await this.codes.throttle('reset', email);
      return { expiresInSeconds: CODE_TTL_SECONDS };
    }
    const owner = resetOwner(user.id, address);
    const code = await this.codes.issue('reset', email, owner);
    void this.mail
      .send({
        to: email,
        subject: 'Your hi password reset code',
        text: `Your code is ${code}. It expires in 10 minutes. If you did not ask for it, ignore this mail.`,
      })
      .catch(async (err: Error) => {
        await this.codes.withdraw('reset', email, owner, { cooldown: false }).catch(() => undefined);
        this.logger.warn(`reset mail to ${email.replace(/^(.).*@/, '$1***@')} failed: ${err.message}`);
      });
    return { expiresInSeconds: CODE_TTL_SECONDS };
  }

  /**
   * POST /auth/password/reset, from the address that asked for the code: 20007 for a wrong, used
   * or unknown code; every session of the account ends, and every device's secret with it.
   */
  async reset(email: string, code: string, newPassword: string, address: string): Promise<void> {
    const user = await this.users.findByEmail(email);
    // An unknown email still costs one of its daily wrong tries, as a wrong code would.
    const right = await this.codes.consume('reset', email, user ? resetOwner(user.id, address) : '-', code);
    if (!user || !right) throw new AppError(ErrorCode.EMAIL_CODE_INVALID);
    const passwordHash = await this.hasher.hash(newPassword);
    const change = await this.dataSource.transaction(async (manager) => {
      const row = await this.users.lockById(manager, user.id);
      // The code was for this account's email: if the email moved on since, it resets nothing.
      if (!row || row.email !== email) throw new AppError(ErrorCode.EMAIL_CODE_INVALID);
      const before = { id: row.id, status: row.status, passwordHash: row.passwordHash };
      row.passwordHash = passwordHash;
      const after = await this.users.save(row, manager);
      return this.endings.record(manager, endingsOfUserChange(before, after), `password reset by email of user ${user.id}`);
    });
    await this.endings.apply(change);
  }
}

/** Whose reset code it is: the account's, asked for from this client address. */
function resetOwner(userId: number, address: string): string {
  return `${userId}@${address}`;
}
