import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches } from 'class-validator';
import { IDENTIFIER_PATTERN, IsDeviceIdentifier, IsOptionalLabel, IsPassword, IsPhone, PHONE_PATTERN } from '../common/validation';

export class DeviceLoginDto {
  @ApiProperty({ example: 'ios-6b1f0c2e', pattern: IDENTIFIER_PATTERN.source }) @IsDeviceIdentifier() identifier: string;
  @ApiPropertyOptional({ maxLength: 64, example: 'iPhone 15' }) @IsOptionalLabel(64) name?: string;
  @ApiPropertyOptional({ maxLength: 32, example: 'ios' }) @IsOptionalLabel(32) platform?: string;
}

export class RegisterDto {
  @ApiProperty({ example: '13452552490', pattern: PHONE_PATTERN.source }) @IsPhone() phone: string;
  @ApiProperty({ minLength: 8, maxLength: 128, format: 'password' }) @IsPassword() password: string;
  @ApiProperty({ example: 'ios-6b1f0c2e', pattern: IDENTIFIER_PATTERN.source }) @IsDeviceIdentifier() identifier: string;
  @ApiPropertyOptional({ pattern: '^[A-Za-z0-9]{4,16}$', description: 'the referCode of the user who invited' })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9]{4,16}$/, { message: 'inviteCode must be 4-16 letters or digits' })
  inviteCode?: string;
}

export class LoginDto {
  @ApiProperty({ example: '13452552490', pattern: PHONE_PATTERN.source }) @IsPhone() phone: string;
  @ApiProperty({ format: 'password' }) @IsString() password: string;
  @ApiProperty({ example: 'ios-6b1f0c2e', pattern: IDENTIFIER_PATTERN.source }) @IsDeviceIdentifier() identifier: string;
}

export class LoginResponseDto {
  @ApiProperty({ description: 'bearer token of the client scheme (opaque, 128+ bits)' }) token: string;
  @ApiProperty() userId: number;
  @ApiProperty() deviceId: number;
}
