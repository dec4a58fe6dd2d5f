import { Module } from '@nestjs/common';
import { SessionModule } from '../session/session.module';
import { DeviceManager } from './device-manager.service';
import { DevicePresence } from './device-presence';
import { DeviceGateway } from './device.gateway';
import { DeviceModule } from './device.module';
import { DevicesController } from './devices.controller';

/** The DeviceManager: the /devices socket namespace, presence, device listing and removal. */
@Module({
  imports: [DeviceModule, SessionModule],
  controllers: [DevicesController],
  providers: [DeviceManager, DevicePresence, DeviceGateway],
  exports: [DeviceManager],
})
export class DeviceManagerModule {}
