import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: Buffer;
  at: number;
  user: string | undefined;
}

export interface SmtpFake {
  host: string;
  port: number;
  received: ReceivedMail[];
  /** how many DATA commands reached the server, failed ones included */
  attempts: number;
  /** makes every following message fail with this SMTP reply (e.g. 451 = try later), or succeed again with null */
  failWith(code: number | null, message?: string): void;
  close(): Promise<void>;
}

/**
 * A real SMTP server (the `smtp-server` package) on 127.0.0.1 and port 0, without TLS, that
 * accepts the given logins and keeps every message it receives.
 */
export async function startSmtp(users: { user: string; password: string }[]): Promise<SmtpFake> {
  const received: ReceivedMail[] = [];
  let failure: { code: number; message: string } | null = null;
  const state = { attempts: 0 };
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    onAuth(auth, _session, cb) {
      if (users.some((u) => u.user === auth.username && u.password === auth.password)) cb(null, { user: auth.username });
      else cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        state.attempts++;
        if (failure) {
          cb(Object.assign(new Error(failure.message), { responseCode: failure.code }));
          return;
        }
        const addr = (a: SMTPServerAddress | false) => (a ? a.address : '');
        received.push({
          from: addr(session.envelope.mailFrom),
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
          at: Date.now(),
          user: session.user as string | undefined,
        });
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    received,
    get attempts() {
      return state.attempts;
    },
    failWith(code, message = 'Temporary local problem, try again later') {
      failure = code === null ? null : { code, message };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
