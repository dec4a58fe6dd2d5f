import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppUser } from '../app-user/app-user.entity';
import { AppUserRepository } from '../app-user/app-user.repository';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';

/**
 * Invite codes are the users' own refer codes. An unknown code is 20009 `无邀请码`; a query that
 * fails propagates as a database error (100005), so the two can never be confused.
 */
@Injectable()
export class InviteService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly users: AppUserRepository,
  ) {}

  async resolve(code: string): Promise<AppUser> {
    const referrer = await this.users.findByReferCode(code.toUpperCase());
    if (!referrer) throw new AppError(ErrorCode.INVITE_NOT_FOUND);
    return referrer;
  }

  async bind(userId: number, code: string): Promise<{ referrerId: number }> {
    const referrer = await this.resolve(code);
    if (referrer.id === userId) throw new AppError(ErrorCode.INVITE_OWN_CODE);
    return this.dataSource.transaction(async (manager) => {
      const user = await this.users.lockById(manager, userId);
      if (!user) throw new AppError(ErrorCode.USER_NOT_FOUND);
      if (user.referrerId !== null) throw new AppError(ErrorCode.INVITE_ALREADY_BOUND);
      user.referrerId = referrer.id;
      await this.users.save(user, manager);
      return { referrerId: referrer.id };
    });
  }
}
