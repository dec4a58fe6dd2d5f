import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { SessionService } from '../session/session.service';
import { SessionStore } from '../session/session.store';
import { SessionEnding } from './binlog-changes';

/** Ends the sessions that a captured row change made invalid (see sessionEndingsOfRows). */
@Injectable()
export class SessionEnder {
  constructor(
    private readonly sessions: SessionService,
    private readonly sessionsStore: SessionStore,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  async end(endings: SessionEnding[]): Promise<void> {
    // One revocation per (reason, user): a bulk change costs a few round trips, not one per row.
    const devices = new Map<string, { reason: 'unbound' | 'migrated'; userId: number; identifiers: string[] }>();
    for (const ending of endings) {
      if (ending.kind !== 'device') continue;
      const group = `${ending.reason}:${ending.userId}`;
      if (!devices.has(group)) devices.set(group, { reason: ending.reason, userId: ending.userId, identifiers: [] });
      devices.get(group)!.identifiers.push(ending.identifier);
    }
    for (const { reason, userId, identifiers } of devices.values()) await this.sessions.revokeDevices(userId, identifiers, reason);
    const deleted = endings.flatMap((e) => (e.kind === 'user' && e.reason === 'deleted' ? [e.userId] : []));
    await this.sessions.revokeUsers(deleted, 'deleted');
    const disabled = endings.flatMap((e) => (e.kind === 'user' && e.reason === 'disabled' ? [e.userId] : []));
    for (const userId of await this.sessionsStore.usersWithSessions(disabled)) {
      if (await this.stillDisabled(userId)) await this.sessions.revokeUser(userId, 'disabled');
    }
  }

  /** The binlog may be behind: a user enabled again since must keep the sessions it has now. */
  private async stillDisabled(userId: number): Promise<boolean> {
    const rows: Array<{ status: number }> = await this.dataSource.query('SELECT status FROM app_users WHERE id = ?', [userId]);
    return rows.length > 0 && Number(rows[0].status) === 2;
  }
}
