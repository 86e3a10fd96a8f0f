import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import iconv from 'iconv-lite';
import { ImapFlow } from 'imapflow';

export const DOVECOT_BIN = '/usr/sbin/dovecot';

export interface MailUser {
  user: string;
  password: string;
}

export interface Dovecot {
  host: string;
  port: number;
  /** the folder holding every user's maildir (`<root>/<user>/Maildir`) */
  mailRoot: string;
  /** a logged-in imapflow client for one user; closed by stop() if still open */
  connect(user: MailUser): Promise<ImapFlow>;
  /** IMAP APPEND of a raw RFC 822 message; returns the new UID */
  append(user: MailUser, folder: string, raw: string | Buffer, opts?: { flags?: string[]; date?: Date }): Promise<number>;
  /** kills the server and waits until its processes are gone; removes the temp folder */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function isAlive(pid: number): boolean {
  // never 0 or negative: those mean a process group, not a process
  if (!(pid > 1)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Debian's dovecot on 127.0.0.1 and a free high port, with a generated config in a temp folder:
 * passwd-file users, maildir, no TLS. Run as root, mail is owned by nobody:nogroup (dovecot
 * refuses root as a mail user); run as anyone else, every process runs as that user.
 *
 * dovecot is started in the foreground under a tiny shell that kills it when its stdin closes,
 * and stdin is a pipe from this process: if the test process dies, even by SIGKILL, the pipe
 * closes and dovecot goes with it. stop() kills the pid from base_dir/master.pid as well.
 */
export async function startDovecot(users: MailUser[]): Promise<Dovecot> {
  if (!existsSync(DOVECOT_BIN)) throw new Error('dovecot is not installed: apt-get install -y dovecot-imapd');
  // unix socket paths must stay short, so a short folder right under the temp dir
  const dir = mkdtempSync(path.join(os.tmpdir(), 'crm-dc-'));
  chmodSync(dir, 0o755);
  const asRoot = process.getuid?.() === 0;
  const me = os.userInfo();
  const mailUid = asRoot ? 65534 : me.uid;
  const mailGid = asRoot ? 65534 : me.gid;
  const baseDir = path.join(dir, 'run');
  const stateDir = path.join(dir, 'state');
  const mailRoot = path.join(dir, 'mail');
  for (const d of [baseDir, stateDir, mailRoot]) mkdirSync(d, { recursive: true });
  chmodSync(mailRoot, 0o755);
  for (const u of users) {
    const home = path.join(mailRoot, u.user);
    mkdirSync(home, { recursive: true });
    if (asRoot) chownSync(home, mailUid, mailGid);
  }
  // plain passwords are fine for a throwaway test server on loopback
  writeFileSync(path.join(dir, 'users'), users.map((u) => `${u.user}:{PLAIN}${u.password}::::::`).join('\n') + '\n');
  const port = await freePort();
  const ownUser = asRoot ? '' : `default_internal_user = ${me.username}\ndefault_login_user = ${me.username}\n`;
  const conf = `
protocols = imap
listen = 127.0.0.1
base_dir = ${baseDir}
state_dir = ${stateDir}
log_path = ${path.join(dir, 'dovecot.log')}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# tests log in with wrong passwords on purpose. Dovecot still slows the next login from the
# same address (its auth penalty, reset by a successful login): keep such tests last in a file.
auth_failure_delay = 0
first_valid_uid = ${Math.min(mailUid, 500)}
mail_location = maildir:~/Maildir
mail_uid = ${mailUid}
mail_gid = ${mailGid}
${ownUser}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${path.join(dir, 'users')}
}
userdb {
  driver = static
  args = home=${mailRoot}/%u
}
namespace inbox {
  inbox = yes
  separator = /
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
service stats {
  unix_listener stats-writer {
    mode = 0666
  }
}
`;
  const confFile = path.join(dir, 'dovecot.conf');
  writeFileSync(confFile, conf);
  const child: ChildProcess = spawn('sh', ['-c', `"${DOVECOT_BIN}" -F -c "${confFile}" & pid=$!; read _ignored; kill $pid; wait $pid; rm -rf "${dir}"`], {
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));

  const pidFile = path.join(baseDir, 'master.pid');
  // dovecot creates master.pid before it writes the number: an empty read is 0, and
  // process.kill(0, …) would signal this whole process group (the test run, and CI with it)
  const readPid = () => {
    const n = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : NaN;
    return Number.isSafeInteger(n) && n > 1 ? n : null;
  };
  const until = Date.now() + 10_000;
  let masterPid: number | null = null;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`dovecot did not start: ${stderr}${readLog(dir)}`);
    masterPid = readPid();
    if (masterPid && (await canConnect(port))) break;
    if (Date.now() > until) {
      child.stdin!.end();
      throw new Error(`dovecot did not start in 10 s: ${stderr}${readLog(dir)}`);
    }
    await sleep(20);
  }
  const pid: number = masterPid;

  const clients = new Set<ImapFlow>();
  const connect = async (u: MailUser) => {
    const client = new ImapFlow({
      host: '127.0.0.1',
      port,
      secure: false,
      doSTARTTLS: false,
      auth: { user: u.user, pass: u.password },
      logger: false,
      autoIdleDelay: 50,
    } as ConstructorParameters<typeof ImapFlow>[0]);
    await client.connect();
    clients.add(client);
    client.on('close', () => clients.delete(client));
    return client;
  };

  let stopped = false;
  return {
    host: '127.0.0.1',
    port,
    mailRoot,
    connect,
    async append(u, folder, raw, opts = {}) {
      const client = await connect(u);
      try {
        const res = await client.append(folder, raw, opts.flags ?? [], opts.date);
        if (!res || res.uid === undefined) throw new Error('APPEND returned no UID');
        return res.uid;
      } finally {
        await client.logout().catch(() => client.close());
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const c of clients) c.close();
      if (isAlive(pid)) process.kill(pid, 'SIGTERM');
      child.stdin!.end();
      const deadline = Date.now() + 5000;
      while (isAlive(pid) || child.exitCode === null) {
        if (Date.now() > deadline) {
          if (isAlive(pid)) process.kill(pid, 'SIGKILL');
          break;
        }
        await sleep(20);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function readLog(dir: string): string {
  const f = path.join(dir, 'dovecot.log');
  return existsSync(f) ? `\n${readFileSync(f, 'utf8')}` : '';
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface RawLetter {
  from: string | { name: string; address: string };
  to: string | string[];
  cc?: string[];
  subject: string;
  body: string;
  /** null leaves the header out */
  messageId?: string | null;
  inReplyTo?: string;
  references?: string[];
  date?: Date;
  charset?: 'utf-8' | 'koi8-r' | 'windows-1251';
  transferEncoding?: '8bit' | 'quoted-printable' | 'base64';
  attachments?: { name: string; mime: string; content: Buffer }[];
  headers?: Record<string, string>;
}

let letterSeq = 0;

/**
 * A raw RFC 822 message as a mail client would send it: subject and names as encoded words in
 * the letter's charset, the body in that charset (via iconv-lite) with the chosen transfer
 * encoding, attachments as base64 parts with RFC 2231 file names.
 */
export function rawLetter(l: RawLetter): Buffer {
  const charset = l.charset ?? 'utf-8';
  const te = l.transferEncoding ?? '8bit';
  const word = (s: string) => (/^[\x20-\x7e]*$/.test(s) ? s : `=?${charset}?B?${iconv.encode(s, charset).toString('base64')}?=`);
  const addr = (a: string | { name: string; address: string }) => (typeof a === 'string' ? a : `${word(a.name)} <${a.address}>`);
  const crlf = '\r\n';
  const head: string[] = [
    `From: ${addr(l.from)}`,
    `To: ${(Array.isArray(l.to) ? l.to : [l.to]).join(', ')}`,
    ...(l.cc?.length ? [`Cc: ${l.cc.join(', ')}`] : []),
    `Subject: ${word(l.subject)}`,
    `Date: ${(l.date ?? new Date()).toUTCString().replace('GMT', '+0000')}`,
    ...(l.messageId === null ? [] : [`Message-ID: ${l.messageId ?? `<letter-${process.pid}-${++letterSeq}-${Date.now()}@client.test>`}`]),
    ...(l.inReplyTo ? [`In-Reply-To: ${l.inReplyTo}`] : []),
    ...(l.references?.length ? [`References: ${l.references.join(' ')}`] : []),
    ...Object.entries(l.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
    'MIME-Version: 1.0',
  ];
  const bodyBytes = iconv.encode(l.body.replace(/\r?\n/g, crlf), charset);
  const encodedBody =
    te === 'base64'
      ? Buffer.from(bodyBytes.toString('base64').replace(/.{76}/g, `$&${crlf}`), 'ascii')
      : te === 'quoted-printable'
        ? Buffer.from(quotedPrintable(bodyBytes), 'ascii')
        : bodyBytes;
  const textPart = [
    Buffer.from(`Content-Type: text/plain; charset=${charset}${crlf}Content-Transfer-Encoding: ${te}${crlf}${crlf}`, 'ascii'),
    encodedBody,
  ];
  if (!l.attachments?.length) {
    return Buffer.concat([Buffer.from(head.join(crlf) + crlf, 'ascii'), ...textPart, Buffer.from(crlf)]);
  }
  const boundary = `----=_crm_test_${++letterSeq}`;
  const parts: Buffer[] = [Buffer.from(`${head.join(crlf)}${crlf}Content-Type: multipart/mixed; boundary="${boundary}"${crlf}${crlf}`, 'ascii')];
  parts.push(Buffer.from(`--${boundary}${crlf}`), ...textPart, Buffer.from(crlf));
  for (const a of l.attachments) {
    const name = `UTF-8''${encodeURIComponent(a.name)}`;
    parts.push(
      Buffer.from(
        `--${boundary}${crlf}Content-Type: ${a.mime}${crlf}Content-Disposition: attachment; filename*=${name}${crlf}` +
          `Content-Transfer-Encoding: base64${crlf}${crlf}${a.content.toString('base64').replace(/.{76}/g, `$&${crlf}`)}${crlf}`,
        'ascii',
      ),
    );
  }
  parts.push(Buffer.from(`--${boundary}--${crlf}`));
  return Buffer.concat(parts);
}

function quotedPrintable(bytes: Buffer): string {
  let out = '';
  let line = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 13 && bytes[i + 1] === 10) {
      out += line + '\r\n';
      line = '';
      i++;
      continue;
    }
    const piece = (b >= 33 && b <= 126 && b !== 61) || b === 32 ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, '0')}`;
    if (line.length + piece.length > 75) {
      out += line + '=\r\n';
      line = '';
    }
    line += piece;
  }
  return out + line;
}
