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
  @ApiOperation({
    operationId: 'sendEmailCode',
    summary: 'mail a 6-digit code for the caller only, kept in Redis for 10 minutes (rate limited)',
    description: 'One code per email per `EMAIL_CODE_COOLDOWN_SECONDS` (429). 503 / 100007 also when the mail could not be sent.',
  })
  @ApiEnvelope(EmailCodeSentResponse)
  sendCode(@CurrentSession() session: AuthenticatedSession, @Body() body: SendEmailCodeDto) {
    return this.binding.sendCode(session.userId, body.email);
  }

  @Post('bind')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'bindEmail',
    summary: "bind the email; if another user owns it, the caller's devices migrate there (old sessions 20101)",
    description:
      "403 / 20004 when the email belongs to a disabled account (nothing moves), 403 / 20014 when moving in would pass that account's device limit (`deny-new`; the code stays usable). 429 past `EMAIL_BIND_ATTEMPTS_PER_HOUR` per user or client address, or 20 wrong codes a day for the email.",
  })
  @ApiEnvelope(BindEmailResponse)
  @ApiErrors(ErrorCode.EMAIL_CODE_INVALID, ErrorCode.USER_DISABLED, ErrorCode.DEVICE_LIMIT_REACHED, ErrorCode.USER_NOT_FOUND)
  bind(@CurrentSession() session: AuthenticatedSession, @Body() body: BindEmailDto, @ClientAddress() address: string) {
    return this.binding.bind(session.userId, session.identifier, body.email, body.code, address);
  }
}
