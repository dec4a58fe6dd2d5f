import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { OBSERVED_CODES_ENV } from './observed-answers';

/** jest globalSetup of the e2e project: a fresh directory for the answers the test processes observe. */
export default function setup(): void {
  process.env[OBSERVED_CODES_ENV] = mkdtempSync(join(tmpdir(), 'hi-observed-answers-'));
}
