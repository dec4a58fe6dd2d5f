import { existsSync, readFileSync } from 'fs';
import { resolve } from 'path';
import { parseEnv } from 'util';

/**
 * Reads `.env` of the working directory, then the file HI_ENV_DEFAULTS names (`npm run start:dev`
 * names scripts/dev-defaults.env), each only when it exists. A variable already set wins: the
 * environment over `.env`, `.env` over the defaults. Node's own parser (util.parseEnv, the one
 * behind `--env-file`); a missing file is skipped without a word, where `node
 * --env-file-if-exists` writes a plain-text line to stderr on Node 20. Returns the files read.
 */
export function loadEnvFiles(cwd = process.cwd(), env: NodeJS.ProcessEnv = process.env): string[] {
  const files = ['.env', env.HI_ENV_DEFAULTS].filter((file): file is string => !!file).map((file) => resolve(cwd, file));
  const read = files.filter((file) => existsSync(file));
  for (const file of read) {
    for (const [name, value] of Object.entries(parseEnv(readFileSync(file, 'utf8')))) env[name] ??= value;
  }
  return read;
}
