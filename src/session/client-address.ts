import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { normalizeIp } from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';

/**
 * The client's address as every limit counts it: Fastify's request.ip (the TCP peer, or what the
 * proxies TRUST_PROXY trusts report in X-Forwarded-For), an IPv6 address taken as its /64, as the
 * rate limiter does.
 */
export function clientAddress(request: FastifyRequest): string {
  return normalizeIp(request.ip, 64);
}

export const ClientAddress = createParamDecorator((_: unknown, context: ExecutionContext): string =>
  clientAddress(context.switchToHttp().getRequest<FastifyRequest>()),
);
