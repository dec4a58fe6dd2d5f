import { Controller, Get, NotFoundException, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { readFileSync } from 'fs';
import { join } from 'path';

/** The page's files, read once; the build copies public/ beside this file (nest-cli.json assets). */
const FILES: Record<string, { type: string; body: string }> = Object.fromEntries(
  [
    ['index.html', 'text/html; charset=utf-8'],
    ['admin.js', 'text/javascript; charset=utf-8'],
    ['admin.css', 'text/css; charset=utf-8'],
  ].map(([name, type]) => [name, { type, body: readFileSync(join(__dirname, 'public', name), 'utf8') }]),
);

/** Only the page's own files and its own origin's API: a script injected through a cached value cannot run. */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/**
 * The cache admin page: plain HTML and JavaScript, no build. It holds no privilege of its own: it
 * logs in with POST /oa/auth/login and calls /admin/cache with the staff token like any client.
 */
@ApiExcludeController()
@Controller('admin-ui')
export class AdminUiController {
  @Get()
  page(@Res() reply: FastifyReply): void {
    this.send(reply, 'index.html');
  }

  @Get(':file')
  asset(@Param('file') file: string, @Res() reply: FastifyReply): void {
    if (file === 'index.html' || !Object.hasOwn(FILES, file)) throw new NotFoundException();
    this.send(reply, file);
  }

  private send(reply: FastifyReply, name: string): void {
    const file = FILES[name];
    void reply.headers({ ...SECURITY_HEADERS, 'content-type': file.type }).send(file.body);
  }
}
