import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { OpenAPIObject, OperationObject, ResponseObject } from '@nestjs/swagger';

/**
 * "Each route's documented answers include every answer the tests observe on it." The e2e
 * project's globalSetup points HI_TEST_OBSERVED_CODES at a fresh directory; there every process
 * notes its test worlds, and every app a TestWorld starts in-process writes the OpenAPI document
 * it serves and appends each distinct answer it gives (method, route pattern, HTTP status, business
 * code). The globalTeardown reviews the lot and fails naming each answer the document does not
 * list, or when nothing could be checked although tests ran. Servers spawned as child processes
 * are not observed.
 *
 * This file imports nothing of the application at load: the teardown runs in jest's own process.
 */
export const OBSERVED_CODES_ENV = 'HI_TEST_OBSERVED_CODES';

export interface ObservedAnswer {
  method: string;
  /** Fastify's route pattern (`/me/devices/:identifier`); null outside any route (an unknown URL). */
  route: string | null;
  status: number;
  /** The envelope's business code of an error answer; null for a success or a body that is not ours. */
  code: number | null;
}

/** What an app of the run serves: its document, and the routes it leaves out of it on purpose. */
interface Served {
  /** Why the document could not be built; the docs spec says more. */
  error?: string;
  document: OpenAPIObject;
  /** `get /admin-ui/{file}`: answered, but left out of the document on purpose. */
  undocumented: string[];
  /** Where the document and Swagger UI are served (`/docs`, `/docs-json`, `/docs/<asset>`). */
  docsPath: string;
}

const WORLD = 'world-';
const DOCUMENT = 'document-';
const ANSWERS = 'answers-';

const directory = () => process.env[OBSERVED_CODES_ENV];

/** A TestWorld was created in this process: the review then expects to hear from it. */
export function noteTestWorld(): void {
  const dir = directory();
  if (dir) writeFileSync(join(dir, `${WORLD}${process.pid}`), '');
}

/** Records every distinct answer of `app` (before it listens), and the document it serves. */
export async function recordAnswers(app: NestFastifyApplication): Promise<void> {
  const dir = directory();
  if (!dir) return;
  const documentFile = join(dir, `${DOCUMENT}${process.pid}.json`);
  if (!existsSync(documentFile)) {
    const { buildApiDocument, DOCS_PATH } = await import('../../src/openapi/docs.setup');
    const { routesOf } = await import('../../src/openapi/api-answers');
    const undocumented = routesOf(app)
      .filter((route) => route.excluded)
      .map((route) => `${route.method} ${route.path}`);
    // A document that cannot be built fails the review, not every test that starts an app.
    let served: Served;
    try {
      served = { document: buildApiDocument(app), undocumented, docsPath: `/${DOCS_PATH}` };
    } catch (err) {
      served = {
        error: (err as Error).message,
        document: { openapi: '3.0.0', info: { title: '', version: '' }, paths: {} },
        undocumented,
        docsPath: `/${DOCS_PATH}`,
      };
    }
    writeFileSync(documentFile, JSON.stringify(served));
  }
  const answersFile = join(dir, `${ANSWERS}${process.pid}.jsonl`);
  const seen = new Set<string>();
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onSend', (request, reply, payload, done) => {
      const answer: ObservedAnswer = {
        method: request.method,
        route: request.routeOptions.url ?? null,
        status: reply.statusCode,
        code: reply.statusCode >= 400 ? businessCode(payload) : null,
      };
      const key = JSON.stringify(answer);
      if (!seen.has(key)) {
        seen.add(key);
        appendFileSync(answersFile, `${key}\n`);
      }
      done(null, payload);
    });
}

function businessCode(payload: unknown): number | null {
  if (typeof payload !== 'string') return null;
  try {
    const code = (JSON.parse(payload) as { code?: unknown }).code;
    return typeof code === 'number' ? code : null;
  } catch {
    return null;
  }
}

type RoutedAnswer = ObservedAnswer & { route: string };

/** `GET /me/devices/:identifier` as OpenAPI names it: `get`, `/me/devices/{identifier}`. */
function operationOf(answer: RoutedAnswer): [method: string, path: string] {
  const method = answer.method.toLowerCase();
  return [method === 'head' ? 'get' : method, answer.route.replace(/:(\w+)/g, '{$1}')];
}

/** The business codes a documented error answer names (the `code` enum of its envelope schema). */
function documentedCodes(document: OpenAPIObject, response: ResponseObject): number[] {
  type Schema = { $ref?: string; allOf?: Schema[]; properties?: Record<string, { enum?: unknown[] }> };
  const codes: number[] = [];
  const visit = (schema: Schema | undefined): void => {
    if (!schema) return;
    if (schema.$ref) return visit(document.components?.schemas?.[schema.$ref.replace('#/components/schemas/', '')] as Schema);
    codes.push(...((schema.properties?.code?.enum ?? []) as number[]));
    schema.allOf?.forEach(visit);
  };
  visit(response.content?.['application/json']?.schema as Schema);
  return codes;
}

/**
 * Each observed answer the document does not list, as `POST /auth/device: 403 / 20014 ...`.
 * Answers outside any route (an unknown URL, a URL Fastify cannot decode) belong to no operation.
 */
export function undocumentedAnswers(served: Served, answers: ObservedAnswer[]): string[] {
  const skip = new Set(served.undocumented);
  const problems = new Set<string>();
  for (const answer of answers.filter((a): a is RoutedAnswer => a.route !== null)) {
    const [method, path] = operationOf(answer);
    const docs = served.docsPath;
    if (skip.has(`${method} ${path}`) || path === docs || path.startsWith(`${docs}/`) || path.startsWith(`${docs}-`)) continue;
    const name = `${method.toUpperCase()} ${path}`;
    const what = `${answer.status}${answer.code === null ? '' : ` / ${answer.code}`}`;
    const operation = served.document.paths[path]?.[method as 'get'] as OperationObject | undefined;
    const response = operation?.responses[String(answer.status)] as ResponseObject | undefined;
    if (!operation) problems.add(`${name}: the route is not in the document (it answered ${what})`);
    else if (!response) problems.add(`${name}: HTTP ${what} is not documented`);
    else if (answer.status >= 400 && (answer.code === null || !documentedCodes(served.document, response).includes(answer.code))) {
      problems.add(`${name}: ${what} is not documented (HTTP ${answer.status} lists ${documentedCodes(served.document, response).join(', ') || 'no code'})`);
    }
  }
  return [...problems].sort();
}

/**
 * The verdict on a directory of observations. A run that reported no test world, or whose apps
 * answered requests none of which names its route, has checked nothing: that is a problem too,
 * never a pass. Apps that answered no request at all (started for their migrations, or driven
 * through sockets only) leave nothing to check.
 */
export function reviewObservedAnswers(dir: string): { problems: string[]; summary: string } {
  const files = existsSync(dir) ? readdirSync(dir) : [];
  const read = (file: string) => readFileSync(join(dir, file), 'utf8');
  const documents = files.filter((f) => f.startsWith(DOCUMENT));
  const answers = files
    .filter((f) => f.startsWith(ANSWERS))
    .flatMap((f) => read(f).split('\n').filter(Boolean))
    .map((line) => JSON.parse(line) as ObservedAnswer);
  if (!files.some((f) => f.startsWith(WORLD))) {
    return { problems: [`no test world reported to ${dir}: ${OBSERVED_CODES_ENV} did not reach the test processes, so no answer was checked`], summary: '' };
  }
  const served = documents.map((f) => JSON.parse(read(f)) as Served);
  const broken = served.find((s) => s.error !== undefined);
  if (broken) return { problems: [`the OpenAPI document could not be built: ${broken.error}`], summary: '' };
  if (served.length === 0 || answers.length === 0) {
    return { problems: [], summary: 'documented answers: no in-process app of the run answered a request, nothing to check' };
  }
  const distinct = [...new Map(answers.map((a) => [JSON.stringify(a), a])).values()];
  const routes = new Set(distinct.flatMap((a) => (a.route === null ? [] : [operationOf(a as RoutedAnswer).join(' ')])));
  if (routes.size === 0) {
    return { problems: [`${distinct.length} answer(s) were recorded but none names its route: the observation hook cannot see route patterns`], summary: '' };
  }
  return {
    problems: undocumentedAnswers(served[0], distinct),
    summary: `documented answers: ${distinct.length} distinct answers of ${routes.size} routes, observed in ${served.length} test process(es), checked against the OpenAPI document`,
  };
}
