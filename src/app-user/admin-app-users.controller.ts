import { Body, Controller, Delete, Get, HttpCode, Param, ParseIntPipe, Patch, Post, Query, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ErrorCode } from '../common/error-codes';
import { ApiEnvelope, ApiErrors, ApiStaffAuth } from '../docs/api-envelope';
import { DeviceManager } from '../device/device-manager.service';
import { DeviceResponse } from '../device/device.dto';
import { OaUser } from '../oa-user/oa-user.entity';
import { CurrentStaff, StaffAuthGuard, StaffRoles, staffName } from '../oa-user/staff-auth.guard';
import { AdminAppUserPageResponse, AdminAppUserResponse, AppUserDeviceParams, ListAppUsersQuery, UpdateAppUserStatusDto } from './app-user.dto';
import { toAdminAppUserView } from './app-user.mapper';
import { AppUserService } from './app-user.service';

const idPipe = new ParseIntPipe({ errorHttpStatusCode: 400 });

@ApiTags('admin: app users')
@ApiStaffAuth()
@Controller('admin/app-users')
@UseGuards(StaffAuthGuard)
export class AdminAppUsersController {
  constructor(
    private readonly users: AppUserService,
    private readonly deviceManager: DeviceManager,
  ) {}

  /** `?phone=` finds one user; otherwise a page in id order, `nextCursor` null on the last page. */
  @Get()
  @ApiOperation({ operationId: 'listAppUsers', summary: 'list app users in id order, or find one by phone' })
  @ApiEnvelope(AdminAppUserPageResponse)
  async list(@Query() query: ListAppUsersQuery) {
    if (query.phone !== undefined) {
      const user = await this.users.findByPhone(query.phone);
      return { items: user ? [toAdminAppUserView(user)] : [], nextCursor: null };
    }
    const limit = query.limit ?? 50;
    // One row more than the page tells whether another page follows: a full last page says null too.
    const rows = await this.users.list(query.cursor ?? 0, limit + 1);
    const page = rows.slice(0, limit);
    return { items: page.map(toAdminAppUserView), nextCursor: rows.length > limit ? page[page.length - 1].id : null };
  }

  @Get(':id')
  @ApiOperation({ operationId: 'getAppUser', summary: 'one app user' })
  @ApiParam({ name: 'id', type: Number })
  @ApiEnvelope(AdminAppUserResponse)
  @ApiErrors(ErrorCode.USER_NOT_FOUND)
  async get(@Param('id', idPipe) id: number) {
    return toAdminAppUserView(await this.users.get(id));
  }

  @Patch(':id')
  @StaffRoles('admin')
  @ApiOperation({
    operationId: 'setAppUserStatus',
    summary: 'enable (1) or disable (2), for good or until disabledUntil; disabling revokes sessions and kicks sockets (disabled)',
  })
  @ApiParam({ name: 'id', type: Number })
  @ApiEnvelope(AdminAppUserResponse)
  @ApiErrors(ErrorCode.USER_NOT_FOUND)
  async setStatus(@Param('id', idPipe) id: number, @Body() body: UpdateAppUserStatusDto, @CurrentStaff() staff: OaUser) {
    const until = body.disabledUntil === undefined ? null : new Date(body.disabledUntil);
    return toAdminAppUserView(await this.users.setStatus(id, body.status, until, staffName(staff)));
  }

  @Get(':id/devices')
  @ApiOperation({
    operationId: 'listAppUserDevices',
    summary: "the user's devices with their session state, as GET /me/devices shows them (current is always false)",
  })
  @ApiParam({ name: 'id', type: Number })
  @ApiEnvelope(DeviceResponse, { isArray: true })
  @ApiErrors(ErrorCode.USER_NOT_FOUND)
  async devices(@Param('id', idPipe) id: number) {
    await this.users.get(id);
    return this.deviceManager.list(id, null);
  }

  @Post(':id/devices/:identifier/sign-out')
  @HttpCode(200)
  @StaffRoles('admin')
  @ApiOperation({ operationId: 'signOutAppUserDevice', summary: "end that device's session without unbinding it (20108; socket kicked kicked)" })
  @ApiEnvelope(null)
  @ApiErrors(ErrorCode.USER_NOT_FOUND, ErrorCode.DEVICE_NOT_FOUND)
  async signOutDevice(@Param() params: AppUserDeviceParams, @CurrentStaff() staff: OaUser) {
    await this.users.get(params.id);
    await this.deviceManager.signOut(params.id, params.identifier, 'kicked', staffName(staff));
    return null;
  }

  @Delete(':id')
  @StaffRoles('admin')
  @ApiOperation({ operationId: 'deleteAppUser', summary: 'delete: caches invalidated, sessions revoked, sockets kicked (deleted)' })
  @ApiParam({ name: 'id', type: Number })
  @ApiEnvelope(null)
  @ApiErrors(ErrorCode.USER_NOT_FOUND)
  async delete(@Param('id', idPipe) id: number, @CurrentStaff() staff: OaUser) {
    await this.users.delete(id, staffName(staff));
    return null;
  }
}
