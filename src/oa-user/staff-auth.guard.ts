import { CanActivate, createParamDecorator, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { bearerToken } from '../session/token';
import { OaUser, StaffRole } from './oa-user.entity';
import { StaffSession, StaffSessionService } from './staff-session.service';

type StaffRequest = FastifyRequest & { staffSession?: StaffSession };

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
    const session = await this.sessions.authenticate(bearerToken(request.headers.authorization));
    const { staff } = session;
    const roles = this.reflector.getAllAndOverride<StaffRole[] | undefined>(ROLES, [context.getHandler(), context.getClass()]);
    if (roles && !roles.includes(staff.role)) throw new AppError(ErrorCode.FORBIDDEN, `requires role ${roles.join(' or ')}`);
    request.staffSession = session;
    return true;
  }
}

function staffSessionOf(context: ExecutionContext): StaffSession {
  const session = context.switchToHttp().getRequest<StaffRequest>().staffSession;
  if (!session) throw new Error('CurrentStaff used on a route without StaffAuthGuard');
  return session;
}

export const CurrentStaff = createParamDecorator((_: unknown, context: ExecutionContext): OaUser => staffSessionOf(context).staff);

export const CurrentStaffSession = createParamDecorator((_: unknown, context: ExecutionContext): StaffSession => staffSessionOf(context));

/** A staff member acting in a request: who, and the request's logger (its lines carry the requestId). */
export interface StaffActor {
  staff: OaUser;
  log: FastifyBaseLogger;
}

export const CurrentActor = createParamDecorator((_: unknown, context: ExecutionContext): StaffActor => ({
  staff: staffSessionOf(context).staff,
  log: context.switchToHttp().getRequest<StaffRequest>().log,
}));

/** How a staff member is named in logs: `staff #3 13800000000 (admin)`. */
export function staffName(staff: Pick<OaUser, 'id' | 'phone' | 'role'>): string {
  return `staff #${staff.id} ${staff.phone} (${staff.role})`;
}
