import { Module } from '@nestjs/common';
import { OaUserModule } from '../oa-user/oa-user.module';
import { AdminCacheController } from './admin-cache.controller';
import { AdminCacheService } from './admin-cache.service';

@Module({
  imports: [OaUserModule],
  controllers: [AdminCacheController],
  providers: [AdminCacheService],
})
export class AdminModule {}
