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

@ApiTags('client auth')
@ApiErrors(ErrorCode.TOO_MANY_REQUESTS)
@Controller('auth')
@UseGuards(AuthRateLimitGuard)
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Post('device')
  @HttpCode(200)
  @ApiOperation({
    summary: 'device login; an unknown device gets a new guest user; a known one needs its deviceSecret (20013); a new login replaces the old session (20103)',
  })
  @ApiEnvelope(LoginResponseDto)
  @ApiErrors(ErrorCode.DEVICE_CREDENTIALS_INVALID, ErrorCode.USER_DISABLED)
  device(@Body() body: DeviceLoginDto) {
    return this.auth.deviceLogin(body);
  }

  @Post('register')
  @ApiOperation({ summary: 'create a user with a phone and log the device in as that user' })
  @ApiEnvelope(LoginResponseDto, { status: 201 })
  @ApiErrors(ErrorCode.PHONE_EXISTS, ErrorCode.INVITE_NOT_FOUND, ErrorCode.DEVICE_CREDENTIALS_INVALID)
  register(@Body() body: RegisterDto) {
    return this.auth.register(body);
  }

  @Post('login')
  @HttpCode(200)
  @ApiOperation({ summary: "log the device in as the phone's user (the device joins that account)" })
  @ApiEnvelope(LoginResponseDto)
  @ApiErrors(ErrorCode.BAD_CREDENTIALS, ErrorCode.USER_DISABLED, ErrorCode.DEVICE_CREDENTIALS_INVALID)
  login(@Body() body: LoginDto, @ClientAddress() address: string) {
    return this.auth.login(body, address);
  }

  @Post('logout')
  @HttpCode(200)
  @ApiOperation({ summary: "revoke the caller's session; its socket is kicked with reason logout" })
  @ApiClientAuth()
  @ApiEnvelope(null)
  @UseGuards(AppAuthGuard)
  async logout(@CurrentSession() session: AuthenticatedSession) {
    await this.auth.logout(session);
    return null;
  }
}
