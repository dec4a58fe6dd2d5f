import { rmSync } from 'fs';
import { OBSERVED_CODES_ENV, reviewObservedAnswers } from './observed-answers';

/**
 * jest globalTeardown of the e2e project: fails the run (jest exits non-zero) naming every answer
 * a test observed that the OpenAPI document does not list, or when nothing could be checked.
 */
export default function teardown(): void {
  const dir = process.env[OBSERVED_CODES_ENV];
  if (!dir) throw new Error(`${OBSERVED_CODES_ENV} is not set: the e2e project's globalSetup did not run`);
  const { problems, summary } = reviewObservedAnswers(dir);
  if (problems.length > 0) {
    throw new Error(
      `answers the OpenAPI document does not list (declare them with @ApiErrors on the route, or as a route fact in src/openapi/api-answers.ts); the observations are kept in ${dir}:\n  ${problems.join('\n  ')}`,
    );
  }
  process.stdout.write(`${summary}\n`);
  rmSync(dir, { recursive: true, force: true });
}
