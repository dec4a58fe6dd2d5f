import { Controller, Delete, Get, Param, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ErrorCode } from '../common/error-codes';
import { ApiClientAuth, ApiEnvelope, ApiErrors } from '../docs/api-envelope';
import { AppAuthGuard, CurrentSession } from '../session/app-auth.guard';
import type { AuthenticatedSession } from '../session/session.service';
import { DeviceIdentifierParam, DeviceResponse } from './device.dto';
import { DeviceManager } from './device-manager.service';

@ApiTags('me')
@ApiClientAuth()
@Controller('me/devices')
@UseGuards(AppAuthGuard)
export class DevicesController {
  constructor(private readonly devices: DeviceManager) {}

  @Get()
  @ApiOperation({ summary: "the caller's devices" })
  @ApiEnvelope(DeviceResponse, { isArray: true })
  list(@CurrentSession() session: AuthenticatedSession) {
    return this.devices.list(session.userId, session.identifier);
  }

  @Delete(':identifier')
  @ApiOperation({ summary: 'unbind a device: its sessions are revoked (20102) and its sockets kicked (unbound)' })
  @ApiEnvelope(null)
  @ApiErrors(ErrorCode.DEVICE_NOT_FOUND)
  async unbind(@CurrentSession() session: AuthenticatedSession, @Param() params: DeviceIdentifierParam) {
    await this.devices.unbind(session.userId, params.identifier);
    return null;
  }
}
