/** Where an operator command reads its settings and writes its answer: the process's, or a test's. */
export interface CliStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface CliIo {
  env: Record<string, string | undefined>;
  /** The answer (and --help): what a script pipes on. */
  stdout: CliStream;
  /** Progress, errors and usage. */
  stderr: CliStream;
}

export function processIo(): CliIo {
  return { env: process.env, stdout: process.stdout, stderr: process.stderr };
}
