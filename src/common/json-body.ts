import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from './app-error';
import { ErrorCode } from './error-codes';

/** How deep a request body may nest objects and arrays (CONTRACT section 2). */
export const MAX_JSON_DEPTH = 32;

/**
 * The nesting depth of a JSON text, read in one pass without parsing it; stops counting past
 * `limit`. Brackets inside strings do not count.
 */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i += 1; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      depth += 1;
      if (depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) {
      depth -= 1;
    }
  }
  return false;
}

/**
 * Request bodies are `application/json` only: any other type (a form a cross-site page can post
 * without a preflight, plain text) is refused with 415 / 100009 by Fastify itself. A body nested
 * deeper than MAX_JSON_DEPTH is refused before it is parsed, so it never reaches the recursive
 * validators. Fastify's own parser does the rest (prototype poisoning refused).
 */
export function acceptJsonBodiesOnly(fastify: FastifyInstance): void {
  const parse = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request: FastifyRequest, body: string | Buffer, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
      return done(new AppError(ErrorCode.INVALID_PARAM, `the body nests deeper than ${MAX_JSON_DEPTH} levels`), undefined);
    }
    parse(request, text, done);
  });
}
