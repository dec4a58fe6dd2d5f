import type { FastifyInstance } from 'fastify';

export interface Envelope<T> {
  code: number;
  msg: string;
  data?: T;
}

/**
 * Every successful JSON answer goes out as `{code: 200, msg: 'OK', data}` (CONTRACT section 2),
 * wrapped in Fastify's preSerialization hook: no per-request interceptor chain. Errors are
 * enveloped by the exception filter already; `unwrapped` lists routes whose JSON is not ours
 * (the OpenAPI document).
 */
export function envelopeAnswers(fastify: FastifyInstance, unwrapped: string[]): void {
  const skip = new Set(unwrapped);
  fastify.addHook('preSerialization', (request, reply, payload, done) => {
    if (reply.statusCode >= 400 || skip.has(request.routeOptions.url ?? '')) return done(null, payload);
    done(null, { code: 200, msg: 'OK', data: payload ?? null } satisfies Envelope<unknown>);
  });
}
