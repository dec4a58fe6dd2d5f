import { Module } from '@nestjs/common';
import { AppUserModule } from '../app-user/app-user.module';
import { SessionModule } from '../session/session.module';
import { AuthRateLimitGuard } from '../session/auth-rate-limit.guard';
import { AppConfig } from '../config/app-config';
import { DeviceManagerModule } from '../device/device-manager.module';
import { DeviceModule } from '../device/device.module';
import { EmailController } from './email.controller';
import { EmailBindingService } from './email-binding.service';
import { VerificationCodes } from './verification-codes';
import { LogMailTransport, MailTransport, SmtpMailTransport } from './mail-transport';

@Module({
  imports: [AppUserModule, SessionModule, DeviceModule, DeviceManagerModule],
  controllers: [EmailController],
  providers: [
    EmailBindingService,
    VerificationCodes,
    AuthRateLimitGuard,
    {
      provide: MailTransport,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => (config.SMTP_URL ? new SmtpMailTransport(config.SMTP_URL, config.MAIL_FROM) : new LogMailTransport()),
    },
  ],
  exports: [VerificationCodes, MailTransport],
})
export class EmailModule {}
