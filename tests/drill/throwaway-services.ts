/**
 * Throw-away PostgreSQL and Redis servers for fault tests: their own data folders in the OS temp
 * dir, their own free loopback ports, never the machine's services. Tests restart and kill them.
 */
import { execFile, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const postgresBin = process.env.PG_BIN_DIR ?? '/usr/lib/postgresql/15/bin';

/** A free TCP port on 127.0.0.1 (the kernel's pick, released at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface ThrowawayPostgres {
  port: number;
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  url: string;
  dataDir: string;
  /** `pg_ctl restart -m fast`: backends are terminated, new connections refused until it is up again */
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** stops the server and removes its folder */
  destroy(): Promise<void>;
  /** the server's own log, for a failing test's message */
  log(): string;
}

/**
 * initdb + pg_ctl from Debian's PostgreSQL 15 into a new temp folder, listening on 127.0.0.1 only.
 * PostgreSQL refuses to run as root, so under root the folder belongs to `postgres` and every
 * command runs through `runuser -u postgres`.
 */
export async function startThrowawayPostgres(): Promise<ThrowawayPostgres> {
  for (const tool of ['initdb', 'pg_ctl', 'postgres']) {
    if (!existsSync(path.join(postgresBin, tool))) {
      throw new Error(
        `PostgreSQL server binaries are missing: ${path.join(postgresBin, tool)} not found. ` +
          `Install Debian's server (apt-get install -y postgresql-15) or set PG_BIN_DIR to the folder holding initdb and pg_ctl.`,
      );
    }
  }
  const asRoot = process.getuid?.() === 0;
  const root = mkdtempSync(path.join(os.tmpdir(), 'crm-throwaway-pg-'));
  const dataDir = path.join(root, 'data');
  const logFile = path.join(root, 'server.log');
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(root, Number(stdout.trim()), Number(gid.trim()));
  }
  const pg = async (tool: string, args: string[]) => {
    const cmd = path.join(postgresBin, tool);
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
    try {
      return await run(file, argv, { cwd: root, timeout: 120_000 });
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`${tool} ${args.join(' ')} failed: ${err.stderr || err.message}\n${readLog()}`);
    }
  };
  const readLog = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-4000) : '');

  await pg('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  const port = await freePort();
  // a throw-away server: durability off, loopback only, its socket in its own folder
  writeFileSync(
    path.join(dataDir, 'postgresql.auto.conf'),
    [
      `port = ${port}`,
      `listen_addresses = '127.0.0.1'`,
      `unix_socket_directories = '${root}'`,
      'fsync = off',
      'full_page_writes = off',
      'max_connections = 100',
      'shared_buffers = 64MB',
      '',
    ].join('\n'),
    { flag: 'a' },
  );
  await pg('pg_ctl', ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60']);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await pg('pg_ctl', ['stop', '-m', 'immediate', '-D', dataDir, '-w', '-t', '30']).catch(() => {});
  };
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    dataDir,
    restart: async () => {
      await pg('pg_ctl', ['restart', '-m', 'fast', '-D', dataDir, '-l', logFile, '-w', '-t', '60']);
    },
    stop,
    destroy: async () => {
      await stop();
      rmSync(root, { recursive: true, force: true });
    },
    log: readLog,
  };
}

export interface ThrowawayRedis {
  port: number;
  url: string;
  /** stops the server (SHUTDOWN NOSAVE) and starts a new empty-handed one on the same port */
  restart(): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * `redis-server --port N --save '' --daemonize yes` in a temp folder. With `--save ''` and no AOF,
 * a restart loses what Redis held: the drill uses it to show what that costs the CRM.
 */
export async function startThrowawayRedis(opts: { appendonly?: boolean } = {}): Promise<ThrowawayRedis> {
  const redisServer = process.env.REDIS_SERVER_BIN ?? '/usr/bin/redis-server';
  if (!existsSync(redisServer)) {
    throw new Error(`redis-server is missing (${redisServer}): apt-get install -y redis-server, or set REDIS_SERVER_BIN`);
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'crm-throwaway-redis-'));
  const port = await freePort();
  const pidFile = path.join(dir, 'redis.pid');
  const start = async () => {
    await run(redisServer, [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--save', '',
      '--appendonly', opts.appendonly ? 'yes' : 'no',
      '--appendfsync', 'always',
      '--dir', dir,
      '--pidfile', pidFile,
      '--logfile', path.join(dir, 'redis.log'),
      '--daemonize', 'yes',
    ]);
    await waitForPort(port, 10_000);
  };
  const shutdown = async () => {
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : 0;
    // never signal pid 0 (the whole process group)
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        return;
      }
      for (let i = 0; i < 200 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 25));
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    restart: async () => {
      await shutdown();
      await start();
    },
    destroy: async () => {
      await shutdown();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  const { connect } = await import('node:net');
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A CRM process started with `node api/bin/crm.js ARGS`, its output kept for failure messages. */
export function spawnCrm(args: string[], env: NodeJS.ProcessEnv, cwd: string) {
  const bin = new URL('../../api/bin/crm.js', import.meta.url).pathname;
  const child = spawn(process.execPath, [bin, ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (d: Buffer) => {
    output += d.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    exited,
    output: () => output,
    alive: () => child.exitCode === null && child.signalCode === null,
    async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
export type CrmProcess = ReturnType<typeof spawnCrm>;
