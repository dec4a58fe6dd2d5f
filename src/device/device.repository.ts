import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { CacheAsideService, RowCodec } from '../cache/cache-aside.service';
import { CacheKeys } from '../cache/cache-keys';
import { entityCodec } from '../cache/row-codec';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { matchesHash, newSecret, sha256Hex } from '../common/secrets';
import { UserStatus } from '../common/user-status';
import { isSignOutMark, passwordFingerprint, SessionFacts, SignOutMark } from '../session/session-ending.policy';
import { Device } from './device.entity';

export interface Attached {
  device: Device;
  /** The user the device belonged to until now, when it changed owner. */
  movedFrom: number | null;
  /** Whether the device is new. */
  inserted: boolean;
  /** The device's new secret: every login rotates it, and only its hash is kept. */
  secret: string;
  /** The secret this login replaced (null for a new device): a login refused after all puts it back. */
  replaced: Pick<Device, 'secretHash' | 'secretFor'> | null;
}

export interface DeviceFields {
  identifier: string;
  name?: string;
  platform?: string;
  deviceSecret?: string;
}

/** Device rows; `cache:devices:identifier:{identifier}` holds the row itself. */
@Injectable()
export class DeviceRepository {
  private readonly codec: RowCodec<Device>;

  constructor(
    @InjectRepository(Device) private readonly repo: Repository<Device>,
    private readonly cache: CacheAsideService,
  ) {
    this.codec = entityCodec('devices', repo.metadata);
  }

  findByIdentifier(identifier: string): Promise<Device | null> {
    return this.cache.getRow(CacheKeys.deviceIdentifier(identifier), this.codec, () => this.repo.findOneBy({ identifier }));
  }

  /**
   * What MySQL says now, past the cache, about each session's device and user: the facts that
   * decide whether the session may live (session-ending.policy.ts). Two queries for any number.
   */
  async sessionFacts(sessions: Array<{ userId: number; identifier: string }>): Promise<SessionFacts[]> {
    const devices = new Map<string, { owner: number; mark: SignOutMark | null; ownerFacts: UserFacts | null }>();
    for (const chunk of chunks([...new Set(sessions.map((s) => s.identifier))])) {
      const rows: Array<{ identifier: string; user_id: number; secret_for: string | null; status: number | null; password_hash: string | null }> =
        await this.repo.query(
          'SELECT d.identifier, d.user_id, d.secret_for, u.status, u.password_hash FROM devices d LEFT JOIN app_users u ON u.id = d.user_id WHERE d.identifier IN (?)',
          [chunk],
        );
      for (const row of rows)
        devices.set(row.identifier, { owner: Number(row.user_id), mark: isSignOutMark(row.secret_for) ? row.secret_for : null, ownerFacts: userFacts(row) });
    }
    // A session whose device is gone, or belongs to someone else, still needs its own user's facts.
    const users = new Map<number, UserFacts>();
    const unknown = [...new Set(sessions.filter((s) => devices.get(s.identifier)?.owner !== s.userId).map((s) => s.userId))];
    for (const chunk of chunks(unknown)) {
      const rows: Array<{ id: number; status: number; password_hash: string | null }> = await this.repo.query(
        'SELECT id, status, password_hash FROM app_users WHERE id IN (?)',
        [chunk],
      );
      for (const row of rows) users.set(Number(row.id), userFacts(row)!);
    }
    return sessions.map(({ userId, identifier }) => {
      const device = devices.get(identifier);
      const user = device?.owner === userId ? device.ownerFacts : (users.get(userId) ?? null);
      return {
        deviceOwner: device?.owner ?? null,
        deviceSignedOut: device?.mark ?? null,
        userStatus: user?.status ?? null,
        passwordFingerprint: user?.fingerprint ?? null,
      };
    });
  }

  /** The device's owner as MySQL has it now, past the cache; null for an unknown device. */
  async ownerOf(identifier: string): Promise<number | null> {
    const rows: Array<{ user_id: number }> = await this.repo.query('SELECT user_id FROM devices WHERE identifier = ?', [identifier]);
    return rows.length > 0 ? Number(rows[0].user_id) : null;
  }

  findByUser(userId: number, manager: EntityManager = this.repo.manager): Promise<Device[]> {
    return manager.getRepository(Device).find({ where: { userId }, order: { id: 'ASC' } });
  }

  /**
   * A phone login files the device under `owner`, creating it if new. A device the user already
   * owns needs no secret (the password proved the owner); one of another account joins only with
   * its secret (CONTRACT section 3, "Device credentials"). `movedFrom` is its previous owner. The
   * new secret stands on `owner.pw`, the fingerprint of the password the login checked.
   */
  async attachToUser(manager: EntityManager, fields: DeviceFields, owner: { id: number; pw: string }): Promise<Attached> {
    const existing = await this.lockIfExists(manager, fields.identifier);
    if (!existing) return this.insert(manager, fields, owner.id, owner.pw);
    if (existing.userId !== owner.id) assertSecret(existing, fields.deviceSecret, await this.ownerFingerprint(manager, existing.userId));
    const movedFrom = existing.userId === owner.id ? null : existing.userId;
    return this.rotate(manager, Object.assign(existing, pick(fields), { userId: owner.id }), movedFrom, owner.pw);
  }

  /**
   * A device login: an unknown device is filed under a new guest user made by `newOwner`; a known
   * one needs its secret, standing on its owner's current password and not signed out, and logs
   * in as its owner; or, when that user no longer exists (deleted by hand), it is filed under a new
   * guest. A wrong secret throws before anything is written.
   */
  async attachToUserOf(manager: EntityManager, fields: DeviceFields, newOwner: () => Promise<{ id: number }>): Promise<Attached> {
    const existing = await this.lockIfExists(manager, fields.identifier);
    if (!existing) return this.insert(manager, fields, (await newOwner()).id, passwordFingerprint(null));
    const ownerPw = await this.ownerFingerprint(manager, existing.userId, true);
    assertSecret(existing, fields.deviceSecret, ownerPw);
    if (ownerPw !== null) return this.rotate(manager, Object.assign(existing, pick(fields)), null, ownerPw);
    const previous = existing.userId;
    return this.rotate(manager, Object.assign(existing, pick(fields), { userId: (await newOwner()).id }), previous, passwordFingerprint(null));
  }

  /**
   * Checks a device login's secret against MySQL as it is now, without locking or writing: lets a
   * login be refused before it waits for its account's turn (DeviceLimit). An unknown device passes.
   */
  async verifySecret(fields: DeviceFields): Promise<void> {
    const device = await this.repo.findOneBy({ identifier: fields.identifier });
    if (device) assertSecret(device, fields.deviceSecret, await this.ownerFingerprint(this.repo.manager, device.userId));
  }

  /** The device's secret stands on `pw` from now on (the password its owner just set through it). */
  async restandSecret(manager: EntityManager, identifier: string, pw: string): Promise<void> {
    const device = await manager.getRepository(Device).findOne({ where: { identifier }, lock: { mode: 'pessimistic_write' } });
    if (!device || isSignOutMark(device.secretFor)) return;
    device.secretFor = pw;
    await manager.getRepository(Device).save(device);
  }

  /** Signs the devices out for good: their secrets stop; only a phone login of the account brings one back. */
  async markSignedOut(manager: EntityManager, devices: Device[], mark: SignOutMark): Promise<void> {
    const changed = devices.filter((device) => device.secretFor !== mark);
    for (const device of changed) device.secretFor = mark;
    if (changed.length > 0) await manager.getRepository(Device).save(changed);
  }

  /** The fingerprint of the user's password as MySQL has it now; null when the user is gone. */
  private async ownerFingerprint(manager: EntityManager, userId: number, lock = false): Promise<string | null> {
    const rows: Array<{ password_hash: string | null }> = await manager.query(`SELECT password_hash FROM app_users WHERE id = ?${lock ? ' FOR UPDATE' : ''}`, [
      userId,
    ]);
    return rows.length > 0 ? passwordFingerprint(rows[0].password_hash) : null;
  }

  private async insert(manager: EntityManager, fields: DeviceFields, userId: number, pw: string): Promise<Attached> {
    const repo = manager.getRepository(Device);
    const secret = newSecret();
    const device = repo.create({
      name: '',
      platform: '',
      ...pick(fields),
      identifier: fields.identifier,
      userId,
      secretHash: sha256Hex(secret),
      secretFor: pw,
    });
    return { device: await repo.save(device), movedFrom: null, inserted: true, secret, replaced: null };
  }

  private async rotate(manager: EntityManager, device: Device, movedFrom: number | null, pw: string): Promise<Attached> {
    const replaced = { secretHash: device.secretHash, secretFor: device.secretFor };
    const secret = newSecret();
    device.secretHash = sha256Hex(secret);
    device.secretFor = pw;
    return { device: await manager.getRepository(Device).save(device), movedFrom, inserted: false, secret, replaced };
  }

  /**
   * Puts back the secret a login replaced, when the login was refused after its transaction
   * committed (the account disabled, deleted or changed meanwhile): a refused login changes no
   * credential (CONTRACT section 3), so a guest, which has no phone to log in with, keeps its way
   * back. Only while the row still holds exactly what that login wrote: a sign-out, a password
   * change or a later login since then wins. A device that changed owner is not moved back.
   */
  async restoreReplacedSecret(manager: EntityManager, attached: Attached): Promise<boolean> {
    if (attached.replaced === null || attached.movedFrom !== null) return false;
    const repo = manager.getRepository(Device);
    const device = await repo.findOne({ where: { id: attached.device.id }, lock: { mode: 'pessimistic_write' } });
    const written = attached.device;
    if (!device || device.secretHash !== written.secretHash || device.secretFor !== written.secretFor || device.userId !== written.userId) return false;
    Object.assign(device, attached.replaced);
    await repo.save(device);
    return true;
  }

  /**
   * Locks the device's row if it exists. A locking read of a missing unique key would take a gap
   * lock, and two first logins of different devices would then deadlock on their inserts; so a
   * missing row is not locked, and a racing insert of the same identifier fails with a duplicate
   * key, which `retryTransaction` retries.
   */
  private async lockIfExists(manager: EntityManager, identifier: string): Promise<Device | null> {
    const repo = manager.getRepository(Device);
    if (!(await repo.existsBy({ identifier }))) return null;
    return repo.findOne({ where: { identifier }, lock: { mode: 'pessimistic_write' } });
  }

  /**
   * Moves every device of one user to another inside the caller's transaction; their secrets
   * stand on the new owner's password `toPw` from now on (a signed-out device stays signed out).
   */
  async moveDevicesToUser(manager: EntityManager, fromUserId: number, toUserId: number, toPw: string): Promise<Device[]> {
    const repo = manager.getRepository(Device);
    const devices = await repo.find({ where: { userId: fromUserId }, lock: { mode: 'pessimistic_write' } });
    for (const device of devices) {
      device.userId = toUserId;
      if (!isSignOutMark(device.secretFor)) device.secretFor = toPw;
    }
    return devices.length > 0 ? repo.save(devices) : [];
  }

  async remove(device: Device, manager: EntityManager = this.repo.manager): Promise<void> {
    await manager.getRepository(Device).remove(device);
  }

  async removeAllOfUser(manager: EntityManager, userId: number): Promise<Device[]> {
    const devices = await this.findByUser(userId, manager);
    if (devices.length > 0) await manager.getRepository(Device).remove(devices);
    return devices;
  }
}

function pick(fields: DeviceFields): Partial<Device> {
  const out: Partial<Device> = {};
  if (fields.name !== undefined) out.name = fields.name;
  if (fields.platform !== undefined) out.platform = fields.platform;
  return out;
}

/**
 * A known device proves itself with its current secret, which stands while the owner's password
 * is the one it was issued on (`ownerPw`; null when the owner is gone) and the device was not
 * signed out. One that predates secrets has none and is trusted on first use: that login gives it
 * one (docs/api.md, "Device credentials").
 */
function assertSecret(device: Device, secret: string | undefined, ownerPw: string | null): void {
  if (device.secretHash === null) return;
  if (!matchesHash(device.secretHash, secret)) throw new AppError(ErrorCode.DEVICE_CREDENTIALS_INVALID);
  if (isSignOutMark(device.secretFor)) {
    throw new AppError(
      ErrorCode.DEVICE_CREDENTIALS_INVALID,
      "device credentials invalid: this device was signed out; log in with the account's phone and password",
    );
  }
  if (device.secretFor !== null && ownerPw !== null && device.secretFor !== ownerPw) {
    throw new AppError(
      ErrorCode.DEVICE_CREDENTIALS_INVALID,
      "device credentials invalid: the account's password changed; log in with the phone and the new password",
    );
  }
}

function chunks<T>(items: T[], size = 1000): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

interface UserFacts {
  status: UserStatus;
  fingerprint: string;
}

/** A user's facts from a row of the queries above; null for a missing user (LEFT JOIN). */
function userFacts(row: { status: number | null; password_hash: string | null }): UserFacts | null {
  return row.status === null ? null : { status: Number(row.status) as UserStatus, fingerprint: passwordFingerprint(row.password_hash) };
}
