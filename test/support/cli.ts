import { spawn } from 'child_process';
import { join } from 'path';

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
