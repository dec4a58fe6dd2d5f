import { CanActivate, createParamDecorator, ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AuthenticatedSession, SessionService } from './session.service';
import { bearerToken } from './token';

type ClientRequest = FastifyRequest & { clientSession?: AuthenticatedSession };

/** Client routes: a live client session, or 401 with the code that says why not. */
@Injectable()
export class AppAuthGuard implements CanActivate {
  constructor(private readonly sessions: SessionService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<ClientRequest>();
    request.clientSession = await this.sessions.authenticate(bearerToken(request.headers.authorization), { withUserRow: true });
    return true;
  }
}

export const CurrentSession = createParamDecorator((_: unknown, context: ExecutionContext): AuthenticatedSession => {
  const session = context.switchToHttp().getRequest<ClientRequest>().clientSession;
  if (!session) throw new Error('CurrentSession used on a route without AppAuthGuard');
  return session;
});
