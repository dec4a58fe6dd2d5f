import { Module } from '@nestjs/common';
import { AppAuthGuard } from './app-auth.guard';
import { LoginAttempts } from './login-attempts.service';
import { PasswordHasher } from './password-hasher';
import { SessionEventBus } from './session-events';
import { SessionService } from './session.service';
import { SessionStore } from './session.store';

/** Sessions and credentials, shared by every module that authenticates or ends a session. */
@Module({
  providers: [SessionStore, SessionService, SessionEventBus, PasswordHasher, LoginAttempts, AppAuthGuard],
  exports: [SessionStore, SessionService, SessionEventBus, PasswordHasher, LoginAttempts, AppAuthGuard],
})
export class SessionModule {}
