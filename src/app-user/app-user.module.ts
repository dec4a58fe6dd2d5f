import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { SessionModule } from '../session/session.module';
import { DeviceManagerModule } from '../device/device-manager.module';
import { DeviceModule } from '../device/device.module';
import { OaUserModule } from '../oa-user/oa-user.module';
import { AdminAppUsersController } from './admin-app-users.controller';
import { AppUser } from './app-user.entity';
import { AppUserRepository } from './app-user.repository';
import { AppUserService } from './app-user.service';
import { MeController } from './me.controller';
import { TimedEnable } from './timed-enable.service';

@Module({
  imports: [TypeOrmModule.forFeature([AppUser]), SessionModule, DeviceModule, DeviceManagerModule, OaUserModule],
  controllers: [MeController, AdminAppUsersController],
  providers: [AppUserRepository, AppUserService, TimedEnable],
  exports: [AppUserRepository, AppUserService],
})
export class AppUserModule {}
