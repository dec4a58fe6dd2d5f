import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, Matches, Max, Min } from 'class-validator';
import { IDENTIFIER_PATTERN, IsDeviceIdentifier, IsNickname, IsPhone, PHONE_PATTERN } from '../common/validation';
import { UserStatus } from '../common/user-status';
import type { AdminAppUserView, AppUserView } from './app-user.mapper';

export class UpdateMeDto {
  @ApiProperty({
    example: 'Lin',
    description:
      '1-32 user-perceived characters (an emoji sequence counts as one), not only whitespace, no control, invisible or direction-changing characters',
  })
  @IsNickname()
  nickname: string;
}

export class ListAppUsersQuery {
  @ApiPropertyOptional({ pattern: PHONE_PATTERN.source, description: 'find one user by phone' }) @IsOptional() @IsPhone() phone?: string;
  @ApiPropertyOptional({ minimum: 0, description: 'nextCursor of the previous page' }) @IsOptional() @Type(() => Number) @IsInt() @Min(0) cursor?: number;
  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(200) limit?: number;
}

export class AppUserDeviceParams {
  @ApiProperty({ minimum: 1 }) @Type(() => Number) @IsInt({ message: 'id must be an integer' }) @Min(1) id: number;
  @ApiProperty({ pattern: IDENTIFIER_PATTERN.source, description: 'the device identifier' }) @IsDeviceIdentifier() identifier: string;
}

export class UpdateAppUserStatusDto {
  @ApiProperty({ enum: [UserStatus.Active, UserStatus.Disabled], description: '1 enable, 2 disable' })
  @IsIn([UserStatus.Active, UserStatus.Disabled], { message: 'status must be 1 (enable) or 2 (disable)' })
  status: UserStatus;

  @ApiPropertyOptional({
    format: 'date-time',
    example: '2026-12-01T08:00:00Z',
    description:
      'with status 2: the account comes back by itself at this time (ISO 8601 with a time zone, in the future, within 10 years); without it a disable lasts until an admin enables the account',
  })
  @IsOptional()
  @IsISO8601({ strict: true, strictSeparator: true }, { message: 'disabledUntil must be an ISO 8601 date-time' })
  @Matches(/T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/, { message: 'disabledUntil must be a date-time with a time zone (Z or +hh:mm)' })
  disabledUntil?: string;
}

/** Response shapes (the mappers build them; `implements` keeps the docs in step with the mappers). */
export class AppUserResponse implements AppUserView {
  @ApiProperty() id: number;
  @ApiProperty({ type: String, nullable: true }) phone: string | null;
  @ApiProperty({ type: String, nullable: true }) email: string | null;
  @ApiProperty() nickname: string;
  @ApiProperty({ enum: [UserStatus.Active, UserStatus.Disabled], description: '1 active, 2 disabled' }) status: number;
  @ApiProperty({ description: "this user's own invite code" }) referCode: string;
  @ApiProperty({ type: Number, nullable: true }) referrerId: number | null;
}

export class AdminAppUserResponse extends AppUserResponse implements AdminAppUserView {
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'when a timed disable ends by itself; null otherwise' })
  disabledUntil: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
}

export class AdminAppUserPageResponse {
  @ApiProperty({ type: [AdminAppUserResponse] }) items: AdminAppUserResponse[];
  @ApiProperty({ type: Number, nullable: true, description: 'pass as cursor for the next page; null on the last page' }) nextCursor: number | null;
}
