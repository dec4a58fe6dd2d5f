import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { DeviceModule } from '../device/device.module';
import { SessionModule } from '../session/session.module';
import { BinlogServer } from './binlog-server';
import { BinlogStream, ZONGJI_FACTORY } from './binlog-stream';
import { cdcConnectionOptions } from './cdc-connection';
import { CdcStatus } from './cdc-status';
import { ChangeApplier } from './change-applier';
import { ChangeCapture } from './change-capture.service';
import { CheckpointStore } from './checkpoint.store';
import { LEADER_LOCK, LeaderLock } from './leader-lock';
import { LeaderElection } from './leader-election';
import { SessionEnder } from './session-ender';
import { loadZongJi } from './zongji.loader';

/** Change capture (CONTRACT section 4): CDC_MODE=binlog invalidates rows changed by anyone. */
@Module({
  imports: [SessionModule, DeviceModule],
  providers: [
    ChangeCapture,
    LeaderElection,
    BinlogStream,
    BinlogServer,
    ChangeApplier,
    CheckpointStore,
    CdcStatus,
    SessionEnder,
    { provide: LEADER_LOCK, inject: [AppConfig], useFactory: (config: AppConfig) => new LeaderLock(config.DB_NAME, cdcConnectionOptions(config)) },
    {
      provide: ZONGJI_FACTORY,
      useFactory: () => {
        const ZongJi = loadZongJi();
        return (dsn: ConstructorParameters<typeof ZongJi>[0]) => new ZongJi(dsn);
      },
    },
  ],
  exports: [CdcStatus, ChangeCapture],
})
export class CdcModule {}
