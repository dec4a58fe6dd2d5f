import { Injectable } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';

/**
 * AUTH_RATE_LIMIT_PER_MINUTE requests per client address to /auth/*, /oa/auth/*, /me/email/* and
 * /me/password, all counted together (one key per address, see the throttler's generateKey in
 * app.module.ts), in Redis so that every process shares one budget.
 */
@Injectable()
export class AuthRateLimitGuard extends ThrottlerGuard {}
