import { Body, Controller, HttpCode, Post, Put, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ErrorCode } from '../common/error-codes';
import { ApiClientAuth, ApiEnvelope, ApiErrors } from '../docs/api-envelope';
import { AppAuthGuard, CurrentSession } from '../session/app-auth.guard';
import { AuthRateLimitGuard } from '../session/auth-rate-limit.guard';
import { ClientAddress } from '../session/client-address';
import type { AuthenticatedSession } from '../session/session.service';
import { ChangePasswordDto, PasswordChangedResponse, PasswordResetCodeDto, PasswordResetDto, ResetCodeResponse } from './password.dto';
import { PasswordService } from './password.service';

@ApiTags('me')
@ApiClientAuth()
@Controller('me/password')
@UseGuards(AppAuthGuard, AuthRateLimitGuard)
export class MePasswordController {
  constructor(private readonly passwords: PasswordService) {}

  @Put()
  @ApiOperation({
    operationId: 'changeMyPassword',
    summary: "set or change the caller's password; every other session of the account ends (20106; sockets kicked password_changed)",
    description: '400 / 100002 without `currentPassword` when the account has a password; wrong ones count as failed logins (429 past the limit).',
  })
  @ApiEnvelope(PasswordChangedResponse)
  @ApiErrors(ErrorCode.CURRENT_PASSWORD_INCORRECT, ErrorCode.USER_NOT_FOUND)
  async change(@CurrentSession() session: AuthenticatedSession, @Body() body: ChangePasswordDto, @ClientAddress() address: string) {
    return { signedOut: await this.passwords.change(session, body.currentPassword, body.newPassword, address) };
  }
}

@ApiTags('client auth')
@Controller('auth/password')
@UseGuards(AuthRateLimitGuard)
export class PasswordResetController {
  constructor(private readonly passwords: PasswordService) {}

  @Post('code')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'sendPasswordResetCode',
    summary: 'mail a 6-digit reset code if an account has this email (kept 10 minutes); the same answer either way',
  })
  @ApiEnvelope(ResetCodeResponse)
  sendCode(@Body() body: PasswordResetCodeDto, @ClientAddress() address: string) {
    return this.passwords.sendResetCode(body.email, address);
  }

  @Post('reset')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'resetPassword',
    summary: "set the password of the email's account with the mailed code, from the address that asked for it; every session of the account ends (20106)",
  })
  @ApiEnvelope(null)
  @ApiErrors(ErrorCode.EMAIL_CODE_INVALID)
  async reset(@Body() body: PasswordResetDto, @ClientAddress() address: string) {
    await this.passwords.reset(body.email, body.code, body.newPassword, address);
    return null;
  }
}
