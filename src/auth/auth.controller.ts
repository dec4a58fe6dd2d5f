import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ErrorCode } from '../common/error-codes';
import { ApiClientAuth, ApiEnvelope, ApiErrors } from '../docs/api-envelope';
import { AuthRateLimitGuard } from '../session/auth-rate-limit.guard';
import { ClientAddress } from '../session/client-address';
import { AppAuthGuard, CurrentSession } from '../session/app-auth.guard';
import { DeviceLoginDto, LoginDto, LoginResponseDto, RegisterDto } from './auth.dto';
import { AuthService } from './auth.service';
import type { AuthenticatedSession } from '../session/session.service';

/** A login holds its new session against MySQL (AuthService.startSession): a change that committed meanwhile wins. */
const LOGIN_RACES =
  'A change to the account or the device that commits while the login runs wins, and the login answers as it would after it: e.g. 20004 (account disabled), 20005 (deleted), 20101 / 20102 / 20103 (the device moved, was removed, or logged in again meanwhile).';
/** What a phone login (register, login) answers besides its own codes when such a change wins. */
const PHONE_LOGIN_RACES = [
  ErrorCode.BAD_CREDENTIALS,
  ErrorCode.USER_DISABLED,
  ErrorCode.USER_NOT_FOUND,
  ErrorCode.SESSION_MIGRATED,
  ErrorCode.SESSION_UNBOUND,
  ErrorCode.SESSION_REPLACED,
  ErrorCode.SESSION_SIGNED_OUT,
  ErrorCode.SESSION_KICKED,
];

@ApiTags('client auth')
@Controller('auth')
@UseGuards(AuthRateLimitGuard)
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Post('device')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'authDevice',
    summary: 'device login; an unknown device gets a new guest user; a known one needs its deviceSecret (20013); a new login replaces the old session (20103)',
    description: LOGIN_RACES,
  })
  @ApiEnvelope(LoginResponseDto)
  @ApiErrors(
    ErrorCode.DEVICE_CREDENTIALS_INVALID,
    ErrorCode.USER_DISABLED,
    ErrorCode.DEVICE_LIMIT_REACHED,
    ErrorCode.USER_NOT_FOUND,
    ErrorCode.SESSION_MIGRATED,
    ErrorCode.SESSION_UNBOUND,
    ErrorCode.SESSION_REPLACED,
  )
  device(@Body() body: DeviceLoginDto) {
    return this.auth.deviceLogin(body);
  }

  @Post('register')
  @ApiOperation({ operationId: 'authRegister', summary: 'create a user with a phone and log the device in as that user', description: LOGIN_RACES })
  @ApiEnvelope(LoginResponseDto, { status: 201 })
  @ApiErrors(ErrorCode.PHONE_EXISTS, ErrorCode.INVITE_NOT_FOUND, ErrorCode.DEVICE_CREDENTIALS_INVALID, ...PHONE_LOGIN_RACES)
  register(@Body() body: RegisterDto) {
    return this.auth.register(body);
  }

  @Post('login')
  @HttpCode(200)
  @ApiOperation({ operationId: 'authLogin', summary: "log the device in as the phone's user (the device joins that account)", description: LOGIN_RACES })
  @ApiEnvelope(LoginResponseDto)
  @ApiErrors(ErrorCode.BAD_CREDENTIALS, ErrorCode.USER_DISABLED, ErrorCode.DEVICE_CREDENTIALS_INVALID, ErrorCode.DEVICE_LIMIT_REACHED, ...PHONE_LOGIN_RACES)
  login(@Body() body: LoginDto, @ClientAddress() address: string) {
    return this.auth.login(body, address);
  }

  @Post('logout')
  @HttpCode(200)
  @ApiOperation({ operationId: 'authLogout', summary: "revoke the caller's session; its socket is kicked with reason logout" })
  @ApiClientAuth()
  @ApiEnvelope(null)
  @UseGuards(AppAuthGuard)
  async logout(@CurrentSession() session: AuthenticatedSession) {
    await this.auth.logout(session);
    return null;
  }
}
