import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { IsNickname, IsPhone, PHONE_PATTERN } from '../common/validation';
import { UserStatus } from '../common/user-status';
import type { AdminAppUserView, AppUserView } from './app-user.mapper';

export class UpdateMeDto {
  @ApiProperty({
    example: 'Lin',
    description: '1-32 user-perceived characters (an emoji sequence counts as one), not only whitespace, no control, invisible or direction-changing characters',
  })
  @IsNickname()
  nickname: string;
}

export class ListAppUsersQuery {
  @ApiPropertyOptional({ pattern: PHONE_PATTERN.source, description: 'find one user by phone' }) @IsOptional() @IsPhone() phone?: string;
  @ApiPropertyOptional({ minimum: 0, description: 'nextCursor of the previous page' }) @IsOptional() @Type(() => Number) @IsInt() @Min(0) cursor?: number;
  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(200) limit?: number;
}

export class UpdateAppUserStatusDto {
  @ApiProperty({ enum: [UserStatus.Active, UserStatus.Disabled], description: '1 enable, 2 disable' })
  @IsIn([UserStatus.Active, UserStatus.Disabled], { message: 'status must be 1 (enable) or 2 (disable)' })
  status: UserStatus;
}

/** Response shapes (the mappers build them; `implements` keeps the docs in step with the mappers). */
export class AppUserResponse implements AppUserView {
  @ApiProperty() id: number;
  @ApiProperty({ type: String, nullable: true }) phone: string | null;
  @ApiProperty({ type: String, nullable: true }) email: string | null;
  @ApiProperty() nickname: string;
  @ApiProperty({ enum: [UserStatus.Active, UserStatus.Disabled], description: '1 active, 2 disabled' }) status: number;
  @ApiProperty({ description: 'this user\'s own invite code' }) referCode: string;
  @ApiProperty({ type: Number, nullable: true }) referrerId: number | null;
}

export class AdminAppUserResponse extends AppUserResponse implements AdminAppUserView {
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
}

export class AdminAppUserPageResponse {
  @ApiProperty({ type: [AdminAppUserResponse] }) items: AdminAppUserResponse[];
  @ApiProperty({ type: Number, nullable: true, description: 'pass as cursor for the next page; null on the last page' }) nextCursor: number | null;
}
