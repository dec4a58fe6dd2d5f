import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches } from 'class-validator';
import {
  DEVICE_SECRET_PATTERN,
  IDENTIFIER_PATTERN,
  IsDeviceIdentifier,
  IsOptionalDeviceSecret,
  IsOptionalLabel,
  IsPassword,
  IsPhone,
  PHONE_PATTERN,
} from '../common/validation';

const IDENTIFIER_DOC = {
  example: 'ios-6b1f0c2e',
  pattern: IDENTIFIER_PATTERN.source,
  description:
    "the device's own name for itself, 1-128 of `A-Z a-z 0-9 . _ : -`, compared byte for byte (`Phone-1` and `phone-1` are two devices); it is not a secret",
};
const SECRET_DOC = {
  pattern: DEVICE_SECRET_PATTERN.source,
  description:
    'the deviceSecret the last successful login of this device returned. Needed by a device login of a known device, and by a phone login that brings in a device of another account; missing or wrong: 401 / 20013 and nothing changes',
};

export class DeviceLoginDto {
  @ApiProperty(IDENTIFIER_DOC) @IsDeviceIdentifier() identifier: string;
  @ApiPropertyOptional(SECRET_DOC) @IsOptionalDeviceSecret() deviceSecret?: string;
  @ApiPropertyOptional({ maxLength: 64, example: 'iPhone 15' }) @IsOptionalLabel(64) name?: string;
  @ApiPropertyOptional({ maxLength: 32, example: 'ios' }) @IsOptionalLabel(32) platform?: string;
}

export class RegisterDto {
  @ApiProperty({ example: '13452552490', pattern: PHONE_PATTERN.source }) @IsPhone() phone: string;
  @ApiProperty({ minLength: 8, maxLength: 128, format: 'password' }) @IsPassword() password: string;
  @ApiProperty(IDENTIFIER_DOC) @IsDeviceIdentifier() identifier: string;
  @ApiPropertyOptional(SECRET_DOC) @IsOptionalDeviceSecret() deviceSecret?: string;
  @ApiPropertyOptional({ pattern: '^[A-Za-z0-9]{4,16}$', description: 'the referCode of the user who invited' })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9]{4,16}$/, { message: 'inviteCode must be 4-16 letters or digits' })
  inviteCode?: string;
}

export class LoginDto {
  @ApiProperty({ example: '13452552490', pattern: PHONE_PATTERN.source }) @IsPhone() phone: string;
  @ApiProperty({ format: 'password' }) @IsString() password: string;
  @ApiProperty(IDENTIFIER_DOC) @IsDeviceIdentifier() identifier: string;
  @ApiPropertyOptional(SECRET_DOC) @IsOptionalDeviceSecret() deviceSecret?: string;
}

export class LoginResponseDto {
  @ApiProperty({ description: 'bearer token of the client scheme (opaque, 256 random bits)' }) token: string;
  @ApiProperty() userId: number;
  @ApiProperty() deviceId: number;
  @ApiProperty({
    description:
      "the device's new secret (256 random bits). Store it with the identifier, replacing the previous one, and send it at the next login of this device; every successful login rotates it",
  })
  deviceSecret: string;
}
