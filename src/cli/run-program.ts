import { Command, CommanderError } from 'commander';

/** Exit statuses of every operator command (CONTRACT section 7). */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/**
 * Runs a commander program over `argv` and answers its exit status without calling process.exit:
 * help and version are successes, commander's own refusals and the given usage errors exit 2,
 * anything else (Redis or MySQL unreachable) exits 1.
 */
export async function runProgram(program: Command, argv: string[], usageErrors: Array<abstract new (...args: never[]) => Error>): Promise<number> {
  if (argv.length === 0) {
    process.stderr.write(program.helpInformation());
    return EXIT.usage;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? EXIT.ok : EXIT.usage;
    }
    process.stderr.write(`error: ${(err as Error).message}\n`);
    return usageErrors.some((type) => err instanceof type) ? EXIT.usage : EXIT.failure;
  }
}
