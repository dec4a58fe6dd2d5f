import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, Matches } from 'class-validator';
import { IsEmailAddress } from '../common/validation';
import type { BindResult } from './email-binding.service';

export class SendEmailCodeDto {
  @ApiProperty({ format: 'email', maxLength: 254 }) @IsEmailAddress() email: string;
}

export class BindEmailDto {
  @ApiProperty({ format: 'email', maxLength: 254 }) @IsEmailAddress() email: string;
  @ApiProperty({ pattern: '^\\d{6}$', description: 'the code mailed by POST /me/email/code' })
  @IsString()
  @Matches(/^\d{6}$/, { message: 'code must be 6 digits' })
  code: string;
}

export class EmailCodeSentResponse {
  @ApiProperty({ example: 600 }) expiresInSeconds: number;
}

export class BindEmailResponse implements BindResult {
  @ApiProperty() email: string;
  @ApiProperty({ description: 'the account the calling device belongs to now' }) userId: number;
  @ApiProperty({ description: "the email belonged to another account and the caller's devices moved there" }) migrated: boolean;
  @ApiPropertyOptional({ description: "only when migrated: the calling device's new token (its old one now answers 20101)" }) token?: string;
}
