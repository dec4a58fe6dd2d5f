import { CanActivate, createParamDecorator, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { bearerToken } from '../auth/token';
import { OaUser, StaffRole } from './oa-user.entity';
import { StaffSessionService } from './staff-session.service';

type StaffRequest = FastifyRequest & { staff?: OaUser };

const ROLES = 'hi:staff-roles';
/** Roles allowed on a staff route; without it any active staff member may call it. */
export const StaffRoles = (...roles: StaffRole[]) => SetMetadata(ROLES, roles);

@Injectable()
export class StaffAuthGuard implements CanActivate {
  constructor(
    private readonly sessions: StaffSessionService,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<StaffRequest>();
    const staff = await this.sessions.authenticate(bearerToken(request.headers.authorization));
    const roles = this.reflector.getAllAndOverride<StaffRole[] | undefined>(ROLES, [context.getHandler(), context.getClass()]);
    if (roles && !roles.includes(staff.role)) throw new AppError(ErrorCode.FORBIDDEN, `requires role ${roles.join(' or ')}`);
    request.staff = staff;
    return true;
  }
}

export const CurrentStaff = createParamDecorator((_: unknown, context: ExecutionContext): OaUser => {
  const staff = context.switchToHttp().getRequest<StaffRequest>().staff;
  if (!staff) throw new Error('CurrentStaff used on a route without StaffAuthGuard');
  return staff;
});
