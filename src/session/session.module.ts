import { Module } from '@nestjs/common';
import { AppAuthGuard } from './app-auth.guard';
import { DeviceLimit } from './device-limit';
import { LoginAttempts } from './login-attempts.service';
import { PasswordHasher } from './password-hasher';
import { SessionEventBus } from './session-events';
import { SessionEndingOutbox } from './session-ending.outbox';
import { SessionLog } from './session-log';
import { SessionService } from './session.service';
import { SessionStore } from './session.store';

/** Sessions and credentials, shared by every module that authenticates or ends a session. */
@Module({
  providers: [SessionStore, SessionService, SessionEventBus, SessionLog, SessionEndingOutbox, PasswordHasher, LoginAttempts, AppAuthGuard, DeviceLimit],
  exports: [SessionStore, SessionService, SessionEventBus, SessionEndingOutbox, PasswordHasher, LoginAttempts, AppAuthGuard, DeviceLimit],
})
export class SessionModule {}
