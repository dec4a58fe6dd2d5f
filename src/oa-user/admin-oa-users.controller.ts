import { Body, Controller, Get, Param, ParseIntPipe, Patch, Post, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ErrorCode } from '../common/error-codes';
import { ApiEnvelope, ApiErrors, ApiStaffAuth } from '../docs/api-envelope';
import { CreateOaUserDto, OaUserResponse, UpdateOaUserDto } from './oa-user.dto';
import { toOaUserView } from './oa-user.mapper';
import { OaUserService } from './oa-user.service';
import { OaUser } from './oa-user.entity';
import { CurrentStaff, StaffAuthGuard, StaffRoles, staffName } from './staff-auth.guard';

@ApiTags('admin: staff')
@ApiStaffAuth()
@Controller('admin/oa-users')
@UseGuards(StaffAuthGuard)
@StaffRoles('admin')
export class AdminOaUsersController {
  constructor(private readonly staff: OaUserService) {}

  @Get()
  @ApiOperation({ operationId: 'listStaff', summary: 'every staff user' })
  @ApiEnvelope(OaUserResponse, { isArray: true })
  async list() {
    return (await this.staff.list()).map(toOaUserView);
  }

  @Post()
  @ApiOperation({ operationId: 'createStaff', summary: 'create a staff user (admin or operator)' })
  @ApiEnvelope(OaUserResponse, { status: 201 })
  @ApiErrors(ErrorCode.PHONE_EXISTS)
  async create(@Body() body: CreateOaUserDto) {
    return toOaUserView(await this.staff.create(body));
  }

  @Patch(':id')
  @ApiOperation({ operationId: 'updateStaff', summary: 'change a staff user' })
  @ApiParam({ name: 'id', type: Number })
  @ApiEnvelope(OaUserResponse)
  @ApiErrors(ErrorCode.OA_USER_NOT_FOUND, ErrorCode.PHONE_EXISTS)
  async update(@Param('id', new ParseIntPipe({ errorHttpStatusCode: 400 })) id: number, @Body() body: UpdateOaUserDto, @CurrentStaff() staff: OaUser) {
    return toOaUserView(await this.staff.update(id, body, staffName(staff)));
  }
}
