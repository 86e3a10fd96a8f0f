/**
 * The composition root and the `crm` command line. It is the one place that knows every part:
 * core services, the HTTP app and (as later features land) the bots and workers.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { config as loadDotenv } from 'dotenv';
import type { FastifyInstance } from 'fastify';
import { ConfigError, loadConfig, type Config } from '../core/config.js';
import { createLogger } from '../core/log.js';
import { ensureFirstAdmin, openServices, type Services } from '../core/services.js';
import { isServiceError } from '../core/errors.js';
import { migrate } from '../core/db/migrate.js';
import { openDatabase } from '../core/db/client.js';
import { createApiKey, createLinkCode, createUser, findUserByEmail } from '../core/users/users.js';
import { loadDemoData } from '../core/demo/demo.js';
import { buildApp } from './app.js';
import { setupTelegram } from '../bots/telegram/index.js';
import { registerWorkJobs, scheduleWorkDigest } from '../core/works/reminders.js';

type Role = 'all' | 'web' | 'worker' | 'bots';

const usage = `Использование: crm <команда> [параметры]

  start [--role all|web|worker|bots]      запустить CRM (по умолчанию все роли в одном процессе)
  migrate                                  применить миграции базы данных
  user:create --email E --name N --role admin|head|manager [--password P]
  user:link-code --email E                 одноразовый код привязки Telegram
  apikey:create --name N                   создать API-ключ (показывается один раз)
  demo                                     загрузить демонстрационные данные
`;

async function main(argv: string[]): Promise<number> {
  loadDotenv({ quiet: true });
  const [command, ...rest] = argv;
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const log = createLogger(config.LOG_LEVEL);
  const args = (options: ParseArgsConfig['options']) =>
    parseArgs({ args: rest, options, allowPositionals: false }).values as Record<string, string | undefined>;

  switch (command) {
    case 'start': {
      const role = (args({ role: { type: 'string', default: 'all' } }).role as string) ?? 'all';
      if (!['all', 'web', 'worker', 'bots'].includes(role)) throw new UsageError(`неизвестная роль: ${role}`);
      return start(config, log, role as Role);
    }
    case 'migrate': {
      const database = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR });
      await migrate(database);
      await database.close();
      process.stdout.write(`Миграции применены (${database.kind}).\n`);
      return 0;
    }
    case 'user:create': {
      const a = args({ email: { type: 'string' }, name: { type: 'string' }, role: { type: 'string' }, password: { type: 'string' } });
      return withServices(config, log, async (s) => {
        const user = await createUser(s.ctx(), {
          email: String(a.email ?? ''),
          name: String(a.name ?? ''),
          role: String(a.role ?? '') as 'manager',
          ...(a.password ? { password: String(a.password) } : {}),
        });
        process.stdout.write(`Пользователь создан: №${user.id} ${user.email} (${user.role})\n`);
      });
    }
    case 'user:link-code': {
      const a = args({ email: { type: 'string' }, ttl: { type: 'string' } });
      return withServices(config, log, async (s) => {
        const user = await findUserByEmail(s.ctx(), String(a.email ?? ''));
        if (!user) throw new UsageError(`нет пользователя с e-mail ${String(a.email ?? '')}`);
        const { code, expiresAt } = await createLinkCode(s.ctx(), user.id, a.ttl ? Number(a.ttl) : undefined);
        process.stdout.write(`${code}\n`);
        process.stderr.write(`Код для ${user.email} действует до ${expiresAt.toISOString()}. В Telegram: /start ${code}\n`);
      });
    }
    case 'apikey:create': {
      const a = args({ name: { type: 'string' } });
      return withServices(config, log, async (s) => {
        const { key, id } = await createApiKey(s.ctx(), String(a.name ?? ''));
        process.stdout.write(`${key}\n`);
        process.stderr.write(`API-ключ №${id} создан. Сохраните его: он показывается один раз.\n`);
      });
    }
    case 'demo':
      return withServices(config, log, async (s) => {
        const summary = await loadDemoData(s.ctx());
        process.stdout.write(`Демо-данные загружены: ${JSON.stringify(summary)}\n`);
      });
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(usage);
      return command ? 0 : 2;
    default:
      process.stderr.write(`Неизвестная команда: ${command}\n\n${usage}`);
      return 2;
  }
}

class UsageError extends Error {}

/** A one-shot command: open, run, close; verb errors become one line on stderr. */
async function withServices(config: Config, log: ReturnType<typeof createLogger>, fn: (s: Services) => Promise<void>): Promise<number> {
  const services = await openServices(config, log);
  try {
    await fn(services);
    return 0;
  } catch (e) {
    if (isServiceError(e)) {
      const fields = Object.entries(e.fields).map(([k, v]) => `${k}: ${v}`).join('; ');
      process.stderr.write(`Ошибка: ${e.message}${fields ? ` (${fields})` : ''}\n`);
      return 1;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`Ошибка: ${e.message}\n`);
      return 2;
    }
    throw e;
  } finally {
    await services.close();
  }
}

async function start(config: Config, log: ReturnType<typeof createLogger>, role: Role): Promise<number> {
  const services = await openServices(config, log);
  const first = await ensureFirstAdmin(services);
  if (first) {
    // printed once, to the terminal only, never to the log
    process.stdout.write(
      `\n  Первый администратор создан.\n  Вход: http://${config.HOST}:${config.PORT}/admin\n  E-mail: ${first.email}\n  Пароль: ${first.password}\n  (пароль больше не будет показан; смените его после входа)\n\n`,
    );
  }
  const telegram = setupTelegram(services);
  let app: FastifyInstance | undefined;
  if (role === 'all' || role === 'web') {
    app = await buildApp(services);
    await telegram.mountOn(app);
    await app.listen({ port: config.PORT, host: config.HOST });
  }
  if (role === 'all' || role === 'worker') {
    telegram.registerWorker();
    registerWorkJobs(services);
    await scheduleWorkDigest(services);
    await services.jobs.start();
  }
  if (role === 'all' || role === 'bots') telegram.startBots();
  log.info({ role, db: services.database.kind, queue: services.jobs.kind }, 'CRM started');

  // Graceful stop: no new requests or jobs, finish what is in flight, close pools.
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'stopping');
      try {
        await telegram.stop();
        await app?.close();
        await services.close();
      } catch (err) {
        log.error({ err }, 'error while stopping');
      }
      resolve();
    };
    process.once('SIGTERM', () => void stop('SIGTERM'));
    process.once('SIGINT', () => void stop('SIGINT'));
  });
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof UsageError || (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      process.stderr.write(`Ошибка: ${(err as Error).message}\n`);
      process.exit(2);
    }
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
