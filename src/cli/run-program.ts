import { Command, CommanderError } from 'commander';
import { CliIo } from './cli-io';

/** Exit statuses of every operator command (CONTRACT section 7). */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/**
 * The settings every operator command shares, set on the program before its verbs are added (the
 * verbs inherit them): help asked for goes to stdout and succeeds, commander's refusals go to
 * stderr with the help after them, and a verb's help also lists the program's options.
 *
 * Options declared on the program (`--json`) are global: commander recognises them before and
 * after the verb, because positional options stay off (its default). So a verb must not declare
 * an option of the same name, which the program would take.
 */
export function outputTo(program: Command, io: CliIo): Command {
  return program
    .exitOverride()
    .showHelpAfterError()
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
}

/**
 * Replaces commander's implicit `help [command]`, which answers an unknown verb (`help bogus`) with
 * the program's help on stderr and no message, by one that refuses it like any unknown verb. Add it
 * after the verbs, so that it is listed last.
 */
export function addHelpCommand(program: Command): Command {
  program.helpCommand(false);
  program
    .command('help')
    .description('display help for the command line, or for one command')
    .argument('[command]', 'the command to explain')
    .action((name: string | undefined) => {
      if (name === undefined) return program.outputHelp();
      const verb = program.commands.find((c) => c.name() === name || c.aliases().includes(name));
      if (!verb) program.error(`error: unknown command '${name}'`, { exitCode: EXIT.usage, code: 'commander.unknownCommand' });
      verb.outputHelp();
    });
  return program;
}

/**
 * Runs a commander program over `argv` and answers its exit status without calling process.exit:
 * help and version are successes, commander's own refusals (unknown verb or option, a missing
 * argument, no verb at all) and the given usage errors exit 2, anything else (Redis or MySQL
 * unreachable) exits 1.
 */
export async function runProgram(program: Command, argv: string[], io: CliIo, usageErrors: Array<abstract new (...args: never[]) => Error>): Promise<number> {
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help, -h and a version asked for; every refusal carries a non-zero code.
      if (err.exitCode === 0) return EXIT.ok;
      // No verb at all: commander has shown the help on stderr and says no more.
      if (err.code === 'commander.help') io.stderr.write('error: no command given: name one of the commands above\n');
      return EXIT.usage;
    }
    io.stderr.write(`error: ${(err as Error).message}\n`);
    return usageErrors.some((type) => err instanceof type) ? EXIT.usage : EXIT.failure;
  }
}
