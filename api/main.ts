/**
 * The composition root and the `crm` command line. It is the one place that knows every part:
 * core services, the HTTP app and (as later features land) the bots and workers.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { config as loadDotenv } from 'dotenv';
import { ConfigError, loadConfig, type Config } from '../core/config.js';
import { createLogger } from '../core/log.js';
import { ensureFirstAdmin, openServices, type Services } from '../core/services.js';
import { isServiceError } from '../core/errors.js';
import { migrate } from '../core/db/migrate.js';
import { DatabaseInUseError, openDatabase } from '../core/db/client.js';
import { createApiKey, createLinkCode, createUser, findUserByEmail } from '../core/users/users.js';
import { loadDemoData } from '../core/demo/demo.js';
import { importCounterpartiesFile } from '../core/imports/run-file.js';
import { createWebhookSource } from '../core/leads/intake/webhook-sources.js';
import { composeCrm, partsOf, type Role } from './compose.js';


const usage = `Использование: crm <команда> [параметры]

  start [--role all|web|worker|bots]      запустить CRM (по умолчанию все роли в одном процессе)
  migrate                                  применить миграции базы данных
  user:create --email E --name N --role admin|head|manager [--password P]
  user:link-code --email E                 одноразовый код привязки Telegram
  apikey:create --name N [--scope website|read_all]
                                           создать API-ключ (показывается один раз; website — видит только свои лиды)
  webhook:create --kind tilda|form --name N [--network vk]
                                           адрес вебхука для форм Tilda или соцсетей (показывается один раз)
  webhook:create --kind vk --name N --group ID --confirmation STR --secret S
                                           адрес для Callback API сообщества ВКонтакте (показывается один раз)
  import:counterparties FILE --kind legal_entity|individual|sole_proprietor [--create-valid]
                                           загрузить контрагентов из CSV (с --create-valid — сразу создать корректные строки)
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
      const a = args({ name: { type: 'string' }, scope: { type: 'string' } });
      return withServices(config, log, async (s) => {
        const { key, id } = await createApiKey(s.ctx(), String(a.name ?? ''), a.scope);
        process.stdout.write(`${key}\n`);
        process.stderr.write(`API-ключ №${id} создан. Сохраните его: он показывается один раз.\n`);
      });
    }
    case 'webhook:create': {
      const a = args({
        kind: { type: 'string' },
        name: { type: 'string' },
        network: { type: 'string' },
        group: { type: 'string' },
        confirmation: { type: 'string' },
        secret: { type: 'string' },
      });
      return withServices(config, log, async (s) => {
        const { id, path } = await createWebhookSource(s.ctx(), {
          kind: String(a.kind ?? ''),
          name: String(a.name ?? ''),
          network: a.network,
          groupId: a.group,
          confirmation: a.confirmation,
          secret: a.secret,
        });
        process.stdout.write(`${config.PUBLIC_URL ? new URL(path, config.PUBLIC_URL).toString() : path}\n`);
        process.stderr.write(`Источник заявок №${id} создан. Сохраните адрес: токен в нём показывается один раз.\n`);
      });
    }
    case 'import:counterparties': {
      const { values: a, positionals } = parseArgs({
        args: rest,
        options: { kind: { type: 'string' }, 'create-valid': { type: 'boolean', default: false } },
        allowPositionals: true,
      });
      if (positionals.length !== 1) throw new UsageError('укажите один CSV-файл: crm import:counterparties FILE --kind legal_entity');
      return withServices(config, log, async (s) => {
        const file = positionals[0]!;
        const bar = progressBar();
        const { batch, report, rejectedFile } = await importCounterpartiesFile(s.ctx(), {
          file,
          kind: String(a.kind ?? '') as 'legal_entity',
          createValid: a['create-valid'] === true,
          onProgress: (p) => (p.bytes !== undefined ? bar(p.label, p.bytes, p.bytesTotal ?? 0, p.done) : bar(p.label, p.done, p.total, p.done)),
        });
        bar.done();
        const delimiters: Record<string, string> = { ';': '«;»', ',': '«,»', '\t': 'табуляция' };
        const lines = [
          `Файл: ${file} (${batch.encoding}, разделитель ${delimiters[batch.delimiter] ?? batch.delimiter})`,
          `Строк: ${batch.totalRows}; с ошибками: ${batch.problemRows}; дубликатов: ${batch.duplicateRows}`,
        ];
        if (report) lines.push(`Создано: ${report.created}; пропущено (дубликаты): ${report.skipped}; ошибок: ${report.errors}`);
        if (rejectedFile) lines.push(`Отклонённые строки: ${rejectedFile}`);
        lines.push(`Список загрузки №${batch.id}: ${config.PUBLIC_URL ?? `http://${config.HOST}:${config.PORT}`}/admin/imports/${batch.id}`);
        if (!report) lines.push('Контрагенты не созданы: проверьте список в панели или запустите с --create-valid.');
        process.stdout.write(lines.join('\n') + '\n');
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

/** A progress bar on stderr: redrawn in place in a terminal, a line every few seconds otherwise. */
function progressBar() {
  let last = 0;
  let label = '';
  const tty = process.stderr.isTTY;
  const draw = (text: string, done: number, total: number, rows: number) => {
    const now = Date.now();
    if (text === label && now - last < (tty ? 100 : 3000) && done < total) return;
    // each stage keeps its own finished line
    if (tty && label && text !== label) process.stderr.write('\n');
    last = now;
    label = text;
    const share = total > 0 ? Math.min(1, done / total) : 0;
    const filled = Math.round(share * 30);
    const line = `${text.padEnd(22)} [${'#'.repeat(filled)}${'.'.repeat(30 - filled)}] ${String(Math.round(share * 100)).padStart(3)}%  строк: ${rows}`;
    process.stderr.write(tty ? `\r${line}` : `${line}\n`);
  };
  return Object.assign(draw, { done: () => void (tty && label ? process.stderr.write('\n') : undefined) });
}

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
  // Listen for the stop signal before anything starts: /health answers as soon as the HTTP server
  // listens, while the workers are still being set up, and a SIGTERM then must still stop cleanly.
  const stopSignal = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  const services = await openServices(config, log);
  const first = await ensureFirstAdmin(services);
  if (first) {
    // printed once, to the terminal only, never to the log
    process.stdout.write(
      `\n  Первый администратор создан.\n  Вход: http://${config.HOST}:${config.PORT}/admin\n  E-mail: ${first.email}\n  Пароль: ${first.password}\n  (пароль больше не будет показан; смените его после входа)\n\n`,
    );
  }
  const crm = await composeCrm(services, partsOf(role));
  // serving starts at once: channels connect to their providers in the background (crm.start)
  await crm.app?.listen({ port: config.PORT, host: config.HOST });
  await crm.start();
  log.info({ role, db: services.database.kind, queue: services.jobs.kind }, 'CRM started');

  // Graceful stop: no new requests or jobs, finish what is in flight, close pools.
  const signal = await stopSignal;
  log.info({ signal }, 'stopping');
  try {
    await crm.stop();
    await services.close();
  } catch (err) {
    log.error({ err }, 'error while stopping');
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof UsageError || (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      process.stderr.write(`Ошибка: ${(err as Error).message}\n`);
      process.exit(2);
    }
    // the running CRM holds the PGlite folder: one line saying what to do, not a stack trace
    if (err instanceof DatabaseInUseError) {
      process.stderr.write(`Ошибка: ${err.message}\n`);
      process.exit(1);
    }
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
