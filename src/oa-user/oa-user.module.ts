import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { SessionModule } from '../session/session.module';
import { AdminOaUsersController } from './admin-oa-users.controller';
import { OaAuthController } from './oa-auth.controller';
import { OaUser } from './oa-user.entity';
import { OaUserRepository } from './oa-user.repository';
import { OaUserService } from './oa-user.service';
import { StaffAuthGuard } from './staff-auth.guard';
import { StaffMeController } from './staff-me.controller';
import { StaffSessionService } from './staff-session.service';

@Module({
  imports: [TypeOrmModule.forFeature([OaUser]), SessionModule],
  controllers: [OaAuthController, StaffMeController, AdminOaUsersController],
  providers: [OaUserRepository, OaUserService, StaffSessionService, StaffAuthGuard],
  exports: [OaUserRepository, OaUserService, StaffSessionService, StaffAuthGuard],
})
export class OaUserModule {}
