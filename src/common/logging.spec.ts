import pino from 'pino';
import { createLogger, PinoNestLogger, prettyDestination } from './logging';

describe('logging', () => {
  const capture = () => {
    const out: string[] = [];
    return { out, destination: { write: (line: string) => void out.push(line) } };
  };

  it('LOG_FORMAT=pretty: a line a person reads, context first, a request as method, URL, status and time', () => {
    const text: string[] = [];
    const logger = pino(
      { messageKey: 'msg' },
      prettyDestination((chunk) => void text.push(chunk)),
    );
    logger.info({ context: 'Main', port: 3000 }, 'hi-server listening');
    logger.info({ requestId: 'r-1', req: { method: 'GET', url: '/me' }, res: { statusCode: 200 }, responseTime: 1.5 }, 'request completed');
    logger.error({ context: 'Redis', cause: 'connection closed' }, 'Redis connection lost');
    expect(text).toHaveLength(3);
    expect(text[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] \S*INFO\S*: \S*\[Main\] hi-server listening\S* \{"port":3000\}\n$/);
    expect(text[1]).toMatch(/INFO\S*: \S*request completed GET \/me 200 1\.5 ms\S* \{"requestId":"r-1"\}\n$/);
    expect(text[2]).toMatch(/ERROR\S*: \S*\[Redis\] Redis connection lost\S* \{"cause":"connection closed"\}\n$/);
    expect(text.join('')).not.toMatch(/"level"|"pid"|"hostname"/);
  });

  it('LOG_FORMAT=json: JSON lines on the destination given', () => {
    const { out, destination } = capture();
    createLogger({ LOG_LEVEL: 'info', LOG_FORMAT: 'json' }, destination).info({ context: 'Main' }, 'x');
    expect(JSON.parse(out[0])).toEqual(expect.objectContaining({ level: 30, context: 'Main', msg: 'x' }));
  });

  it("Nest's start-up chatter is debug, and a start-up failure it reports is left to main.ts's one line", () => {
    const { out, destination } = capture();
    const nest = new PinoNestLogger(pino({ messageKey: 'msg', level: 'info' }, destination));
    nest.log('AppModule dependencies initialized', 'InstanceLoader');
    nest.log('Mapped {/me, GET} route', 'RouterExplorer');
    nest.error(new Error('MySQL at 127.0.0.1:1: connect ECONNREFUSED'), 'ExceptionHandler');
    nest.log('a line of the service', 'Bootstrap');
    nest.log({ msg: 'an object line', reason: 'logout' }, 'Sessions');
    expect(out.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ level: 30, context: 'Bootstrap', msg: 'a line of the service' }),
      expect.objectContaining({ level: 30, context: 'Sessions', msg: 'an object line', reason: 'logout' }),
    ]);
  });
});
