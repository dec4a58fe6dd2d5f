import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ErrorCode } from '../common/error-codes';
import { ApiClientAuth, ApiEnvelope, ApiErrors } from '../docs/api-envelope';
import { AppAuthGuard, CurrentSession } from '../session/app-auth.guard';
import { AuthRateLimitGuard } from '../session/auth-rate-limit.guard';
import { ClientAddress } from '../session/client-address';
import type { AuthenticatedSession } from '../session/session.service';
import { BindEmailDto, BindEmailResponse, EmailCodeSentResponse, SendEmailCodeDto } from './email.dto';
import { EmailBindingService } from './email-binding.service';

@ApiTags('me')
@ApiClientAuth()
@Controller('me/email')
@UseGuards(AppAuthGuard, AuthRateLimitGuard)
export class EmailController {
  constructor(private readonly binding: EmailBindingService) {}

  @Post('code')
  @HttpCode(200)
  @ApiOperation({ summary: 'mail a 6-digit code for the caller only, kept in Redis for 10 minutes (rate limited)' })
  @ApiEnvelope(EmailCodeSentResponse)
  @ApiErrors(ErrorCode.TOO_MANY_REQUESTS)
  sendCode(@CurrentSession() session: AuthenticatedSession, @Body() body: SendEmailCodeDto) {
    return this.binding.sendCode(session.userId, body.email);
  }

  @Post('bind')
  @HttpCode(200)
  @ApiOperation({ summary: "bind the email; if another user owns it, the caller's devices migrate there (old sessions 20101)" })
  @ApiEnvelope(BindEmailResponse)
  @ApiErrors(ErrorCode.EMAIL_CODE_INVALID, ErrorCode.USER_DISABLED, ErrorCode.TOO_MANY_REQUESTS)
  bind(@CurrentSession() session: AuthenticatedSession, @Body() body: BindEmailDto, @ClientAddress() address: string) {
    return this.binding.bind(session.userId, session.identifier, body.email, body.code, address);
  }
}
