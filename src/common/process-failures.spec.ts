import pino from 'pino';
import { processFailureHandlers } from './process-failures';

describe('failures outside any request', () => {
  const setup = (closing: boolean) => {
    const lines: Array<Record<string, unknown>> = [];
    const exits: number[] = [];
    const logger = pino({ messageKey: 'msg' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const handlers = processFailureHandlers(logger, { closing: () => closing, exit: (code) => void exits.push(code) });
    return { lines, exits, handlers };
  };

  it('an unhandled rejection while serving is a crash: one fatal JSON line, then exit 1', () => {
    const { lines, exits, handlers } = setup(false);
    handlers.unhandledRejection(new Error('Connection is closed.'));
    expect(exits).toEqual([1]);
    expect(lines).toEqual([expect.objectContaining({ level: 60, context: 'Main', msg: 'unhandled rejection: Connection is closed.: exiting' })]);
  });

  it('the same rejection while closing is a warning, and the close goes on', () => {
    const { lines, exits, handlers } = setup(true);
    handlers.unhandledRejection(new Error('Connection is closed.'));
    expect(exits).toEqual([]);
    expect(lines).toEqual([expect.objectContaining({ level: 40, context: 'Shutdown', msg: 'while closing: Connection is closed.' })]);
  });

  it('an uncaught exception is a crash even while closing', () => {
    const { lines, exits, handlers } = setup(true);
    handlers.uncaughtException(new TypeError('x is not a function'));
    expect(exits).toEqual([1]);
    expect(lines[0]).toMatchObject({ level: 60, msg: 'uncaught exception: x is not a function: exiting' });
  });
});
