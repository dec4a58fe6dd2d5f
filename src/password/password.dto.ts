import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { IsEmailAddress, IsPassword } from '../common/validation';

export class ChangePasswordDto {
  @ApiPropertyOptional({ format: 'password', description: 'required when the account has a password (missing: 400 / 100002; wrong: 403 / 20015)' })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  currentPassword?: string;

  @ApiProperty({ format: 'password', minLength: 8, maxLength: 128 }) @IsPassword() newPassword: string;
}

export class PasswordResetCodeDto {
  @ApiProperty({ format: 'email', maxLength: 254 }) @IsEmailAddress() email: string;
}

export class PasswordResetDto {
  @ApiProperty({ format: 'email', maxLength: 254 }) @IsEmailAddress() email: string;
  @ApiProperty({ pattern: '^\\d{6}$', description: 'the code mailed by POST /auth/password/code' })
  @IsString()
  @Matches(/^\d{6}$/, { message: 'code must be 6 digits' })
  code: string;
  @ApiProperty({ format: 'password', minLength: 8, maxLength: 128 }) @IsPassword() newPassword: string;
}

export class PasswordChangedResponse {
  @ApiProperty({ description: 'how many other sessions of the account ended (password_changed)' }) signedOut: number;
}

export class ResetCodeResponse {
  @ApiProperty({ example: 600, description: 'the same answer whether or not an account has the email' }) expiresInSeconds: number;
}
