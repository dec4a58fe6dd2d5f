import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ErrorCode } from '../common/error-codes';
import { ApiEnvelope, ApiErrors, ApiStaffAuth } from '../docs/api-envelope';
import { AuthRateLimitGuard } from '../session/auth-rate-limit.guard';
import { ClientAddress } from '../session/client-address';
import { StaffLoginDto, StaffLoginResponse } from './oa-user.dto';
import { OaUserService } from './oa-user.service';
import { CurrentStaffSession, StaffAuthGuard, staffName } from './staff-auth.guard';
import { StaffSession, StaffSessionService } from './staff-session.service';

@ApiTags('staff auth')
@Controller('oa/auth')
@UseGuards(AuthRateLimitGuard)
export class OaAuthController {
  constructor(
    private readonly staff: OaUserService,
    private readonly sessions: StaffSessionService,
  ) {}

  @Post('login')
  @HttpCode(200)
  @ApiOperation({ operationId: 'staffLogin', summary: 'staff login; the token works on /admin routes only' })
  @ApiEnvelope(StaffLoginResponse)
  @ApiErrors(ErrorCode.BAD_CREDENTIALS, ErrorCode.USER_DISABLED)
  login(@Body() body: StaffLoginDto, @ClientAddress() address: string) {
    return this.staff.login(body.phone, body.password, address);
  }

  @Post('logout')
  @HttpCode(200)
  @ApiOperation({ operationId: 'staffLogout', summary: "end the caller's staff session: its token answers 100003 from now on" })
  @ApiStaffAuth()
  @ApiEnvelope(null)
  @UseGuards(StaffAuthGuard)
  async logout(@CurrentStaffSession() session: StaffSession) {
    await this.sessions.revoke(session, staffName(session.staff));
    return null;
  }
}
