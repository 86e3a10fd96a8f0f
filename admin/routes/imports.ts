import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { MultipartFile, Multipart } from '@fastify/multipart';
import { countImportRows, deleteImport, getImport, listImportRows, listImports, stageImport, type ImportRowFilter } from '../../core/imports/stage.js';
import { queueImportFile, startImportStep } from '../../core/imports/jobs.js';
import { rejectedRowsCsv } from '../../core/imports/rejected.js';
import { rowProblemTexts } from '../../core/imports/describe.js';
import { importFields } from '../../core/imports/fields.js';
import { listSegments } from '../../core/segments/segments.js';
import { listUsers } from '../../core/users/users.js';
import { invalid, isServiceError } from '../../core/errors.js';
import { body, idParam, int, ints, query, str } from '../forms.js';
import { ctxOf, redirectWith, render, requireRoles, withQuery } from '../render.js';
import type { AdminDeps } from '../types.js';

const rowFilters: [ImportRowFilter, string][] = [
  ['all', 'Все строки'],
  ['valid', 'Готовы к загрузке'],
  ['problems', 'С ошибками'],
  ['duplicates', 'Дубликаты'],
  ['created', 'Загружены'],
  ['rejected', 'Отклонены'],
];

type UploadRequest = FastifyRequest & { uploadPart?: MultipartFile; uploadRest?: AsyncIterator<Multipart> };

const reportText = (r: { created: number; skipped: number; errors: number }) =>
  `Загрузка завершена: создано ${r.created}, пропущено дубликатов ${r.skipped}, строк с ошибками ${r.errors}`;

export default async function importRoutes(app: FastifyInstance, deps: AdminDeps) {
  const listPage = async (req: FastifyRequest, reply: FastifyReply, uploadError?: string) => {
    const ctx = ctxOf(deps, req);
    const [imports, segments, users] = await Promise.all([listImports(ctx), listSegments(ctx), listUsers(ctx, { activeOnly: true })]);
    return render(
      deps,
      req,
      reply,
      'imports/list',
      { title: 'Загрузка клиентов', imports, segments, users, maxMb: Math.round(deps.maxUploadBytes / 1024 / 1024), uploadError },
      uploadError ? 400 : 200,
    );
  };

  app.get('/imports', async (req, reply) => {
    requireRoles(req, 'admin', 'head');
    return listPage(req, reply);
  });

  app.post(
    '/imports',
    {
      // the form sends its fields before the file: read them into the body so the CSRF check
      // sees the token, and keep the file part to stream it into the staging list
      preValidation: async (req: UploadRequest) => {
        if (!req.isMultipart()) throw invalid({ file: 'выберите файл' }, 'Выберите CSV-файл');
        const parts = req.parts()[Symbol.asyncIterator]();
        const fields: Record<string, string> = {};
        for (;;) {
          const next = await parts.next();
          if (next.done) break;
          const part = next.value;
          if (part.type === 'file') {
            req.uploadPart = part;
            break;
          }
          fields[part.fieldname] = String(part.value);
        }
        req.uploadRest = parts;
        req.body = fields;
      },
    },
    async (request, reply) => {
      const req = request as UploadRequest;
      requireRoles(req, 'admin', 'head');
      const form = body(req);
      const part = req.uploadPart;
      if (!part || !part.filename) throw invalid({ file: 'выберите файл' }, 'Выберите CSV-файл');
      // the file is kept on disk first: a big one is read by the worker, not within this request
      const dir = path.join(deps.services.config.DATA_DIR, 'imports');
      await mkdir(dir, { recursive: true });
      const file = path.join(dir, `${randomUUID()}.csv`);
      let queued = false;
      try {
        await pipeline(part.file, createWriteStream(file, { flags: 'wx', mode: 0o600 }));
        // nothing else is expected after the file, but the request must be read to its end
        for (let n = await req.uploadRest!.next(); !n.done; n = await req.uploadRest!.next()) {
          if (n.value.type === 'file') n.value.file.resume();
        }
        const options = {
          kind: str(form, 'kind') as 'legal_entity',
          fileName: part.filename,
          segmentId: int(form, 'segmentId') ?? null,
          responsibleId: int(form, 'responsibleId') ?? null,
        };
        const ctx = ctxOf(deps, req);
        if ((await stat(file)).size > deps.inlineImportBytes) {
          const batch = await queueImportFile(ctx, file, options);
          queued = true;
          return redirectWith(deps, reply, `/admin/imports/${batch.id}`, { type: 'ok', text: 'Файл принят: строки читаются и проверяются в фоне, следите за ходом на этой странице' });
        }
        const batch = await stageImport(ctx, createReadStream(file, { highWaterMark: 1024 * 1024 }), options);
        return redirectWith(deps, reply, `/admin/imports/${batch.id}`, {
          type: 'ok',
          text: `Файл прочитан: строк ${batch.totalRows}, с ошибками ${batch.problemRows}, дубликатов ${batch.duplicateRows}`,
        });
      } catch (e) {
        // a file that is not a client list: said on the upload form itself, to try another
        if (isServiceError(e) && e.code === 'invalid') return listPage(req, reply, e.message);
        throw e;
      } finally {
        if (!queued) await rm(file, { force: true });
      }
    },
  );

  app.get('/imports/:id', async (req, reply) => {
    requireRoles(req, 'admin', 'head');
    const ctx = ctxOf(deps, req);
    const id = idParam(req.params);
    const batch = await getImport(ctx, id);
    const q = query(req);
    const filter = (rowFilters.map((f) => f[0]) as string[]).includes(str(q, 'filter')) ? (str(q, 'filter') as ImportRowFilter) : 'all';
    const after = int(q, 'after') ?? 0;
    const [rows, sample, validCount, pendingCount, segments, users] = await Promise.all([
      listImportRows(ctx, id, { filter, afterRowNo: after, limit: 101 }),
      listImportRows(ctx, id, { limit: 3 }),
      countImportRows(ctx, id, 'valid'),
      countImportRows(ctx, id, 'pending'),
      listSegments(ctx),
      listUsers(ctx),
    ]);
    const mappingLocked = batch.createdRows + batch.skippedRows + batch.errorRows > 0;
    return render(deps, req, reply, 'imports/batch', {
      title: `Загрузка «${batch.fileName}»`,
      batch,
      rows: rows.slice(0, 100).map((r) => ({ ...r, texts: rowProblemTexts(r) })),
      next: rows.length > 100 ? rows[99]!.rowNo : null,
      after,
      filter,
      rowFilters,
      sample,
      validCount,
      pendingCount,
      fields: importFields,
      mappingLocked,
      segmentName: Object.fromEntries(segments.map((s) => [s.id, s.name])),
      userName: Object.fromEntries(users.map((u) => [u.id, u.name])),
      withQuery,
    });
  });

  app.get('/imports/:id/status.json', async (req) => {
    requireRoles(req, 'admin', 'head');
    const b = await getImport(ctxOf(deps, req), idParam(req.params));
    return {
      status: b.status,
      label: b.progressLabel,
      done: b.progressDone,
      total: b.progressTotal,
      rows: b.totalRows,
      created: b.createdRows,
      skipped: b.skippedRows,
      errors: b.errorRows,
      lastError: b.lastError,
    };
  });

  app.post('/imports/:id/mapping', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const id = idParam(req.params);
    const batch = await getImport(ctx, id);
    const form = body(req);
    const mapping = batch.headers.map((_, i) => str(form, `map_${i}`) || null);
    try {
      const r = await startImportStep(ctx, id, { action: 'remap', mapping }, { inlineRows: deps.inlineImportRows });
      return redirectWith(deps, reply, `/admin/imports/${id}`, {
        type: 'ok',
        text: r.queued ? 'Строки проверяются заново с новым сопоставлением' : 'Сопоставление сохранено, строки проверены заново',
      });
    } catch (e) {
      if (isServiceError(e) && (e.code === 'invalid' || e.code === 'conflict')) return redirectWith(deps, reply, `/admin/imports/${id}`, { type: 'error', text: e.message });
      throw e;
    }
  });

  app.post('/imports/:id/create', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const id = idParam(req.params);
    const form = body(req);
    const selection = str(form, 'mode') === 'selected' ? ints(form, 'rows') : 'valid';
    if (Array.isArray(selection) && !selection.length) {
      return redirectWith(deps, reply, `/admin/imports/${id}`, { type: 'error', text: 'Отметьте строки, которые нужно загрузить' });
    }
    try {
      const r = await startImportStep(ctx, id, { action: 'create', selection }, { inlineRows: deps.inlineImportRows });
      return redirectWith(deps, reply, `/admin/imports/${id}`, r.report ? { type: 'ok', text: reportText(r.report) } : { type: 'ok', text: 'Загрузка идёт в фоне: следите за ходом на этой странице' });
    } catch (e) {
      if (isServiceError(e) && (e.code === 'invalid' || e.code === 'conflict')) return redirectWith(deps, reply, `/admin/imports/${id}`, { type: 'error', text: e.message });
      throw e;
    }
  });

  app.get('/imports/:id/rejected.csv', async (req, reply) => {
    requireRoles(req, 'admin', 'head');
    const id = idParam(req.params);
    const stream = await rejectedRowsCsv(ctxOf(deps, req), id);
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="import-${id}-rejected.csv"`)
      .header('cache-control', 'no-store')
      .send(stream);
  });

  app.post('/imports/:id/delete', async (req, reply) => {
    const id = idParam(req.params);
    try {
      await deleteImport(ctxOf(deps, req), id);
    } catch (e) {
      if (isServiceError(e) && e.code === 'conflict') return redirectWith(deps, reply, `/admin/imports/${id}`, { type: 'error', text: e.message });
      throw e;
    }
    return redirectWith(deps, reply, '/admin/imports', { type: 'ok', text: 'Список загрузки удалён (созданные контрагенты остались)' });
  });
}
