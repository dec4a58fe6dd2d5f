import { Body, Controller, Get, Patch, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { AppAuthGuard, CurrentSession } from '../session/app-auth.guard';
import type { AuthenticatedSession } from '../session/session.service';
import { ErrorCode } from '../common/error-codes';
import { ApiClientAuth, ApiEnvelope, ApiErrors } from '../docs/api-envelope';
import { AppUserResponse, UpdateMeDto } from './app-user.dto';
import { toAppUserView } from './app-user.mapper';
import { AppUserService } from './app-user.service';

@ApiTags('me')
@ApiClientAuth()
@Controller('me')
@UseGuards(AppAuthGuard)
export class MeController {
  constructor(private readonly users: AppUserService) {}

  @Get()
  @ApiOperation({ operationId: 'getMe', summary: "the caller's user (served through the cache)" })
  @ApiEnvelope(AppUserResponse)
  @ApiErrors(ErrorCode.USER_NOT_FOUND)
  async get(@CurrentSession() session: AuthenticatedSession) {
    return toAppUserView(await this.users.get(session.userId, session.userRow));
  }

  @Patch()
  @ApiOperation({ operationId: 'updateMe', summary: "change the caller's nickname" })
  @ApiEnvelope(AppUserResponse)
  @ApiErrors(ErrorCode.USER_NOT_FOUND)
  async update(@CurrentSession() session: AuthenticatedSession, @Body() body: UpdateMeDto) {
    return toAppUserView(await this.users.rename(session.userId, body.nickname));
  }
}
