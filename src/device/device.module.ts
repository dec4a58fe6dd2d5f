import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { SessionModule } from '../session/session.module';
import { Device } from './device.entity';
import { DeviceRepository } from './device.repository';
import { SessionIntegrity } from './session-integrity.service';

@Module({
  imports: [TypeOrmModule.forFeature([Device]), SessionModule],
  providers: [DeviceRepository, SessionIntegrity],
  exports: [DeviceRepository, SessionIntegrity],
})
export class DeviceModule {}
