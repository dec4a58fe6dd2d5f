import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, IsString, Length } from 'class-validator';
import { IsPassword, IsPhone, PHONE_PATTERN } from '../common/validation';
import { STAFF_ROLES, StaffRole } from './oa-user.entity';
import type { toOaUserView } from './oa-user.mapper';

export class StaffLoginDto {
  @ApiProperty({ pattern: PHONE_PATTERN.source }) @IsPhone() phone: string;
  @ApiProperty({ format: 'password' }) @IsString() password: string;
}

export class CreateOaUserDto {
  @ApiProperty({ pattern: PHONE_PATTERN.source }) @IsPhone() phone: string;
  @ApiProperty({ minLength: 8, maxLength: 128, format: 'password' }) @IsPassword() password: string;
  @ApiProperty({ minLength: 1, maxLength: 64 }) @IsString() @Length(1, 64) name: string;
  @ApiProperty({ enum: [...STAFF_ROLES] }) @IsIn(STAFF_ROLES, { message: 'role must be admin or operator' }) role: StaffRole;
}

export class UpdateOaUserDto {
  @ApiPropertyOptional({ pattern: PHONE_PATTERN.source }) @IsOptional() @IsPhone() phone?: string;
  @ApiPropertyOptional({ minLength: 8, maxLength: 128, format: 'password' }) @IsOptional() @IsPassword() password?: string;
  @ApiPropertyOptional({ minLength: 1, maxLength: 64 }) @IsOptional() @IsString() @Length(1, 64) name?: string;
  @ApiPropertyOptional({ enum: [...STAFF_ROLES] }) @IsOptional() @IsIn(STAFF_ROLES, { message: 'role must be admin or operator' }) role?: StaffRole;
  @ApiPropertyOptional({ enum: [1, 2], description: '1 enable, 2 disable' })
  @IsOptional()
  @IsInt()
  @IsIn([1, 2], { message: 'status must be 1 (enable) or 2 (disable)' })
  status?: number;
}

export class StaffLoginResponse {
  @ApiProperty({ description: 'bearer token of the staff scheme' }) token: string;
}

export class OaUserResponse implements ReturnType<typeof toOaUserView> {
  @ApiProperty() id: number;
  @ApiProperty() phone: string;
  @ApiProperty() name: string;
  @ApiProperty({ enum: [...STAFF_ROLES] }) role: StaffRole;
  @ApiProperty({ enum: [1, 2], description: '1 active, 2 disabled' }) status: number;
}
