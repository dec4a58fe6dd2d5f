import { Module } from '@nestjs/common';
import { AppUserModule } from '../app-user/app-user.module';
import { DeviceModule } from '../device/device.module';
import { InviteModule } from '../invite/invite.module';
import { AuthController } from './auth.controller';
import { AuthRateLimitGuard } from '../session/auth-rate-limit.guard';
import { AuthService } from './auth.service';
import { SessionModule } from '../session/session.module';

@Module({
  imports: [SessionModule, AppUserModule, DeviceModule, InviteModule],
  controllers: [AuthController],
  providers: [AuthService, AuthRateLimitGuard],
  exports: [AuthService],
})
export class AuthModule {}
