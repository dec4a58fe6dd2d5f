import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from './config/app-config';
import { OaUserService } from './oa-user/oa-user.service';

/** Start-up chores that need the whole application: the first admin, the mode report. */
@Injectable()
export class BootstrapService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Bootstrap');

  constructor(
    private readonly config: AppConfig,
    private readonly staff: OaUserService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.ADMIN_PHONE && this.config.ADMIN_PASSWORD) {
      await this.staff.ensureAdmin(this.config.ADMIN_PHONE, this.config.ADMIN_PASSWORD);
    }
  }
}
