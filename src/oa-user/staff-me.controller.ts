import { Controller, Get, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiEnvelope, ApiStaffAuth } from '../docs/api-envelope';
import { OaUserResponse } from './oa-user.dto';
import { toOaUserView } from './oa-user.mapper';
import { OaUser } from './oa-user.entity';
import { CurrentStaff, StaffAuthGuard } from './staff-auth.guard';

/** Who the staff token belongs to: the admin page shows an operator a read-only console. */
@ApiTags('staff auth')
@ApiStaffAuth()
@Controller('oa/me')
@UseGuards(StaffAuthGuard)
export class StaffMeController {
  @Get()
  @ApiOperation({ operationId: 'getStaffMe', summary: 'the staff member the token belongs to, with their role' })
  @ApiEnvelope(OaUserResponse)
  me(@CurrentStaff() staff: OaUser) {
    return toOaUserView(staff);
  }
}
