import { Module } from '@nestjs/common';
import { SessionModule } from '../session/session.module';
import { AppUserModule } from '../app-user/app-user.module';
import { InviteController } from './invite.controller';
import { InviteService } from './invite.service';

@Module({
  imports: [AppUserModule, SessionModule],
  controllers: [InviteController],
  providers: [InviteService],
  exports: [InviteService],
})
export class InviteModule {}
