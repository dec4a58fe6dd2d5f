import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ErrorCode } from '../common/error-codes';
import { ApiClientAuth, ApiEnvelope, ApiErrors } from '../docs/api-envelope';
import { AppAuthGuard, CurrentSession } from '../session/app-auth.guard';
import type { AuthenticatedSession } from '../session/session.service';
import { BindInviteCodeDto, BindInviteCodeResponse } from './invite.dto';
import { InviteService } from './invite.service';

@ApiTags('me')
@ApiClientAuth()
@Controller('me/invite-code')
@UseGuards(AppAuthGuard)
export class InviteController {
  constructor(private readonly invites: InviteService) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({ operationId: 'bindInviteCode', summary: 'record who invited the caller' })
  @ApiEnvelope(BindInviteCodeResponse)
  @ApiErrors(ErrorCode.INVITE_NOT_FOUND, ErrorCode.INVITE_OWN_CODE, ErrorCode.INVITE_ALREADY_BOUND, ErrorCode.USER_NOT_FOUND, ErrorCode.DB_FAILED)
  bind(@CurrentSession() session: AuthenticatedSession, @Body() body: BindInviteCodeDto) {
    return this.invites.bind(session.userId, body.inviteCode);
  }
}
