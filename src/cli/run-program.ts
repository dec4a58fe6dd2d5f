import { Command, CommanderError } from 'commander';
import { CliIo } from './cli-io';

/** Exit statuses of every operator command (CONTRACT section 7). */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** Help asked for goes to stdout and succeeds; commander's refusals go to stderr. */
export function outputTo(program: Command, io: CliIo): Command {
  return program
    .exitOverride()
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
}

/**
 * Runs a commander program over `argv` and answers its exit status without calling process.exit:
 * help and version are successes, commander's own refusals and the given usage errors exit 2,
 * anything else (Redis or MySQL unreachable) exits 1. No arguments at all is a usage error that
 * shows the help on stderr.
 */
export async function runProgram(program: Command, argv: string[], io: CliIo, usageErrors: Array<abstract new (...args: never[]) => Error>): Promise<number> {
  if (argv.length === 0) {
    io.stderr.write(program.helpInformation());
    return EXIT.usage;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version' ? EXIT.ok : EXIT.usage;
    }
    io.stderr.write(`error: ${(err as Error).message}\n`);
    return usageErrors.some((type) => err instanceof type) ? EXIT.usage : EXIT.failure;
  }
}
