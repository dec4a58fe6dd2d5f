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
import { passwordFingerprint, SessionFacts } from '../session/session-ending.policy';
import { Device } from './device.entity';

export interface Attached {
  device: Device;
  /** The user the device belonged to until now, when it changed owner. */
  movedFrom: number | null;
  /** Whether the device is new. */
  inserted: boolean;
  /** The device's new secret: every login rotates it, and only its hash is kept. */
  secret: string;
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
    const devices = new Map<string, { owner: number; ownerFacts: UserFacts | null }>();
    for (const chunk of chunks([...new Set(sessions.map((s) => s.identifier))])) {
      const rows: Array<{ identifier: string; user_id: number; status: number | null; password_hash: string | null }> = await this.repo.query(
        'SELECT d.identifier, d.user_id, u.status, u.password_hash FROM devices d LEFT JOIN app_users u ON u.id = d.user_id WHERE d.identifier IN (?)',
        [chunk],
      );
      for (const row of rows) devices.set(row.identifier, { owner: Number(row.user_id), ownerFacts: userFacts(row) });
    }
    // A session whose device is gone, or belongs to someone else, still needs its own user's facts.
    const users = new Map<number, UserFacts>();
    const unknown = [...new Set(sessions.filter((s) => devices.get(s.identifier)?.owner !== s.userId).map((s) => s.userId))];
    for (const chunk of chunks(unknown)) {
      const rows: Array<{ id: number; status: number; password_hash: string | null }> = await this.repo.query('SELECT id, status, password_hash FROM app_users WHERE id IN (?)', [chunk]);
      for (const row of rows) users.set(Number(row.id), userFacts(row)!);
    }
    return sessions.map(({ userId, identifier }) => {
      const device = devices.get(identifier);
      const user = device?.owner === userId ? device.ownerFacts : (users.get(userId) ?? null);
      return { deviceOwner: device?.owner ?? null, userStatus: user?.status ?? null, passwordFingerprint: user?.fingerprint ?? null };
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
   * A phone login files the device under `userId`, creating it if new. A device the user already
   * owns needs no secret (the password proved the owner); one of another account joins only with
   * its secret (CONTRACT section 3, "Device credentials"). `movedFrom` is its previous owner.
   */
  async attachToUser(manager: EntityManager, fields: DeviceFields, userId: number): Promise<Attached> {
    const existing = await this.lockIfExists(manager, fields.identifier);
    if (!existing) return this.insert(manager, fields, userId);
    if (existing.userId !== userId) assertSecret(existing, fields.deviceSecret);
    const movedFrom = existing.userId === userId ? null : existing.userId;
    return this.rotate(manager, Object.assign(existing, pick(fields), { userId }), movedFrom);
  }

  /**
   * A device login: an unknown device is filed under a user made by `newOwner`; a known one needs
   * its secret and logs in as its owner, or, when that user no longer exists (deleted by hand), is
   * filed under a new one. A wrong secret throws before anything is written.
   */
  async attachToUserOf(manager: EntityManager, fields: DeviceFields, newOwner: () => Promise<{ id: number }>): Promise<Attached> {
    const existing = await this.lockIfExists(manager, fields.identifier);
    if (!existing) return this.insert(manager, fields, (await newOwner()).id);
    assertSecret(existing, fields.deviceSecret);
    const ownerExists = await manager
      .query('SELECT 1 FROM app_users WHERE id = ? FOR UPDATE', [existing.userId])
      .then((rows: unknown[]) => rows.length > 0);
    if (ownerExists) return this.rotate(manager, Object.assign(existing, pick(fields)), null);
    const previous = existing.userId;
    return this.rotate(manager, Object.assign(existing, pick(fields), { userId: (await newOwner()).id }), previous);
  }

  private async insert(manager: EntityManager, fields: DeviceFields, userId: number): Promise<Attached> {
    const repo = manager.getRepository(Device);
    const secret = newSecret();
    const device = repo.create({ name: '', platform: '', ...pick(fields), identifier: fields.identifier, userId, secretHash: sha256Hex(secret) });
    return { device: await repo.save(device), movedFrom: null, inserted: true, secret };
  }

  private async rotate(manager: EntityManager, device: Device, movedFrom: number | null): Promise<Attached> {
    const secret = newSecret();
    device.secretHash = sha256Hex(secret);
    return { device: await manager.getRepository(Device).save(device), movedFrom, inserted: false, secret };
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

  /** Moves every device of one user to another inside the caller's transaction. */
  async moveDevicesToUser(manager: EntityManager, fromUserId: number, toUserId: number): Promise<Device[]> {
    const repo = manager.getRepository(Device);
    const devices = await repo.find({ where: { userId: fromUserId }, lock: { mode: 'pessimistic_write' } });
    for (const device of devices) device.userId = toUserId;
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
 * A known device proves itself with its current secret. One that predates secrets has none and is
 * trusted on first use: that login gives it one (docs/api.md, "Device credentials").
 */
function assertSecret(device: Device, secret: string | undefined): void {
  if (device.secretHash !== null && !matchesHash(device.secretHash, secret)) throw new AppError(ErrorCode.DEVICE_CREDENTIALS_INVALID);
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
