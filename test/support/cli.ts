import { spawn } from 'child_process';
import { join } from 'path';
import type { CliIo } from '../../src/cli/cli-io';

export const ROOT = join(__dirname, '..', '..');

/** An operator command run from source, so a test never runs a stale build. */
export function cliFromSource(name: 'cache' | 'admin'): string[] {
  return ['node', '-r', 'ts-node/register/transpile-only', join(ROOT, `src/cli/${name}.cli.ts`)];
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command with only PATH and `env` in its environment; resolves with its exit and output. */
export function run(command: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0], command.slice(1), { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Runs an operator command in this process, as its entry point would, with `env` as its whole
 * environment and its output captured: the same code as the spawned command, without paying for
 * a process and a compilation per run. A spawned smoke test per command covers the entry points.
 */
export async function runInProcess(main: (argv: string[], io: CliIo) => Promise<number>, argv: string[], env: Record<string, string>): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { env, stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } });
  return { code, stdout, stderr };
}
