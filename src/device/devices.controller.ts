import { Controller, Delete, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ErrorCode } from '../common/error-codes';
import { ApiClientAuth, ApiEnvelope, ApiErrors } from '../docs/api-envelope';
import { AppAuthGuard, CurrentSession } from '../session/app-auth.guard';
import type { AuthenticatedSession } from '../session/session.service';
import { DeviceIdentifierParam, DeviceResponse, SignedOutResponse } from './device.dto';
import { DeviceManager } from './device-manager.service';

const byCaller = (session: AuthenticatedSession) => `user ${session.userId} (device ${session.identifier})`;

@ApiTags('me')
@ApiClientAuth()
@Controller('me/devices')
@UseGuards(AppAuthGuard)
export class DevicesController {
  constructor(private readonly devices: DeviceManager) {}

  @Get()
  @ApiOperation({ operationId: 'listMyDevices', summary: "the caller's devices, with their session state" })
  @ApiEnvelope(DeviceResponse, { isArray: true })
  list(@CurrentSession() session: AuthenticatedSession) {
    return this.devices.list(session.userId, session.identifier);
  }

  @Post('sign-out-others')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'signOutOtherDevices',
    summary: 'end the session of every other device of the account (20107; sockets kicked signed_out); the devices stay bound',
  })
  @ApiEnvelope(SignedOutResponse)
  async signOutOthers(@CurrentSession() session: AuthenticatedSession) {
    return { signedOut: await this.devices.signOutOthers(session.userId, session, byCaller(session)) };
  }

  @Post(':identifier/sign-out')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'signOutMyDevice',
    summary: "end that device's session without unbinding it (20107; socket kicked signed_out); the caller's own device may be named",
  })
  @ApiEnvelope(null)
  @ApiErrors(ErrorCode.DEVICE_NOT_FOUND)
  async signOut(@CurrentSession() session: AuthenticatedSession, @Param() params: DeviceIdentifierParam) {
    await this.devices.signOut(session.userId, params.identifier, 'signed_out', byCaller(session));
    return null;
  }

  @Delete(':identifier')
  @ApiOperation({ operationId: 'unbindMyDevice', summary: 'unbind a device: its sessions are revoked (20102) and its sockets kicked (unbound)' })
  @ApiEnvelope(null)
  @ApiErrors(ErrorCode.DEVICE_NOT_FOUND)
  async unbind(@CurrentSession() session: AuthenticatedSession, @Param() params: DeviceIdentifierParam) {
    await this.devices.unbind(session.userId, params.identifier, byCaller(session));
    return null;
  }
}
