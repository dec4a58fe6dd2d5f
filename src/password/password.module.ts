import { Module } from '@nestjs/common';
import { AppUserModule } from '../app-user/app-user.module';
import { DeviceModule } from '../device/device.module';
import { EmailModule } from '../email/email.module';
import { AuthRateLimitGuard } from '../session/auth-rate-limit.guard';
import { SessionModule } from '../session/session.module';
import { MePasswordController, PasswordResetController } from './password.controller';
import { PasswordService } from './password.service';

/** Client passwords: change (PUT /me/password) and reset by email (/auth/password/*). */
@Module({
  imports: [SessionModule, AppUserModule, DeviceModule, EmailModule],
  controllers: [MePasswordController, PasswordResetController],
  providers: [PasswordService, AuthRateLimitGuard],
})
export class PasswordModule {}
