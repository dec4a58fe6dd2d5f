import { Module } from '@nestjs/common';
import { DeviceModule } from '../device/device.module';
import { SessionModule } from '../session/session.module';
import { BinlogListener } from './binlog-listener.service';
import { CdcStatus } from './cdc-status';
import { ChangeApplier } from './change-applier';
import { CheckpointStore } from './checkpoint.store';
import { SessionEnder } from './session-ender';

/** Change capture (CONTRACT section 4): CDC_MODE=binlog invalidates rows changed by anyone. */
@Module({
  imports: [SessionModule, DeviceModule],
  providers: [BinlogListener, ChangeApplier, CheckpointStore, CdcStatus, SessionEnder],
  exports: [CdcStatus, BinlogListener],
})
export class CdcModule {}
