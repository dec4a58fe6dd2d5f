import { Injectable } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';

/**
 * AUTH_RATE_LIMIT_PER_MINUTE requests per client address to /auth/*, /oa/auth/* and
 * /me/email/code, counted in Redis so that every process shares one budget.
 */
@Injectable()
export class AuthRateLimitGuard extends ThrottlerGuard {}
