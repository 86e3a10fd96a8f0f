import pino, { type Logger } from 'pino';

/** Pretty lines in a terminal, JSON otherwise (files, containers, CI). Secrets and message bodies are never logged at info. */
export function createLogger(level: string, opts: { pretty?: boolean } = {}): Logger {
  const pretty = opts.pretty ?? process.stdout.isTTY;
  return pino({
    level,
    redact: { paths: ['password', '*.password', 'passwordHash', '*.passwordHash', 'key', '*.key', 'token', '*.token', 'req.headers.authorization', 'req.headers.cookie'], censor: '[скрыто]' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' } } } : {}),
  });
}
