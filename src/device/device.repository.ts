import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { CacheAsideService } from '../cache/cache-aside.service';
import { CacheKeys } from '../cache/cache-keys';
import { jsonCodec } from '../cache/row-codec';
import { Device } from './device.entity';

const codec = jsonCodec('devices', Device);

export interface Attached {
  device: Device;
  /** The user the device belonged to until now, when it changed owner. */
  movedFrom: number | null;
}

export interface DeviceFields {
  identifier: string;
  name?: string;
  platform?: string;
}

/** Device rows; `cache:devices:identifier:{identifier}` holds the row itself. */
@Injectable()
export class DeviceRepository {
  constructor(
    @InjectRepository(Device) private readonly repo: Repository<Device>,
    private readonly cache: CacheAsideService,
  ) {}

  findByIdentifier(identifier: string): Promise<Device | null> {
    return this.cache.getRow(CacheKeys.deviceIdentifier(identifier), codec, () => this.repo.findOneBy({ identifier }));
  }

  findByUser(userId: number, manager: EntityManager = this.repo.manager): Promise<Device[]> {
    return manager.getRepository(Device).find({ where: { userId }, order: { id: 'ASC' } });
  }

  /** Files the device under `userId`, creating it if new; `movedFrom` is its previous owner, if another. */
  async attachToUser(manager: EntityManager, fields: DeviceFields, userId: number): Promise<Attached> {
    const repo = manager.getRepository(Device);
    const existing = await this.lockIfExists(manager, fields.identifier);
    if (!existing) return { device: await repo.save(repo.create({ name: '', platform: '', ...fields, userId })), movedFrom: null };
    const movedFrom = existing.userId === userId ? null : existing.userId;
    return { device: await repo.save(Object.assign(existing, pick(fields), { userId })), movedFrom };
  }

  /**
   * The device's row for a device login: an unknown device is filed under a user made by
   * `newOwner`, and a device whose user no longer exists (deleted by hand) too.
   */
  async attachToUserOf(manager: EntityManager, fields: DeviceFields, newOwner: () => Promise<{ id: number }>): Promise<Attached> {
    const repo = manager.getRepository(Device);
    const existing = await this.lockIfExists(manager, fields.identifier);
    const ownerExists = existing
      ? await manager.query('SELECT 1 FROM app_users WHERE id = ? FOR UPDATE', [existing.userId]).then((rows: unknown[]) => rows.length > 0)
      : false;
    if (existing && ownerExists) {
      if (fields.name === undefined && fields.platform === undefined) return { device: existing, movedFrom: null };
      return { device: await repo.save(Object.assign(existing, pick(fields))), movedFrom: null };
    }
    const owner = await newOwner();
    if (existing) return { device: await repo.save(Object.assign(existing, pick(fields), { userId: owner.id })), movedFrom: existing.userId };
    return { device: await repo.save(repo.create({ name: '', platform: '', ...fields, userId: owner.id })), movedFrom: null };
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
