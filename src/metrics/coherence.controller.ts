import { Controller, Get, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiEnvelope, ApiStaffAuth } from '../docs/api-envelope';
import { StaffAuthGuard } from '../oa-user/staff-auth.guard';
import { CoherenceResponse } from './coherence.dto';
import { CoherenceService } from './coherence.service';

/** The admin console's coherence panel; every staff role may read it. */
@ApiTags('cache administration')
@ApiStaffAuth()
@Controller('admin/coherence')
@UseGuards(StaffAuthGuard)
export class CoherenceController {
  constructor(private readonly coherence: CoherenceService) {}

  @Get()
  @ApiOperation({
    summary: "change capture's role and lag, the outboxes' backlog, cache hit ratios, session ends by reason and the latest ones",
    description: "Counters are the answering process's own since it started; a part that cannot be read says `unavailable` with why.",
  })
  @ApiEnvelope(CoherenceResponse)
  report() {
    return this.coherence.report();
  }
}
