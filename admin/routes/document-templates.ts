import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  documentTemplateStates,
  MAX_TEMPLATE_BYTES,
  resetTemplate,
  setProposalTexts,
  templateFile,
  templateKindLabels,
  templateKinds,
  uploadTemplate,
  type TemplateKind,
} from '../../core/documents/templates-book.js';
import { invalid } from '../../core/errors.js';
import { body } from '../forms.js';
import { formAction, parseForm } from '../form-action.js';
import { ctxOf, render, requireRoles } from '../render.js';
import { smallUpload, uploadedFile, type UploadRequest } from '../uploads.js';
import type { AdminDeps } from '../types.js';

const BACK = '/admin/books/document-templates';

const textsForm = z.object({ intro: z.string().default(''), terms: z.string().default('') });

function kindParam(params: unknown): TemplateKind {
  const kind = (params as { kind?: string }).kind as TemplateKind;
  if (!templateKinds.includes(kind)) throw invalid({ kind: 'нет такого шаблона' });
  return kind;
}

/** «Шаблоны документов»: the contract's and the КП's .docx (built-in or the admin's own) and the КП's default texts. */
export default async function documentTemplateRoutes(app: FastifyInstance, deps: AdminDeps) {
  app.get('/books/document-templates', async (req, reply) => {
    requireRoles(req, 'admin', 'head');
    const state = await documentTemplateStates(ctxOf(deps, req));
    return render(deps, req, reply, 'books/document-templates', { title: 'Шаблоны документов', ...state, labels: templateKindLabels, canUpload: req.adminUser?.role === 'admin' });
  });

  app.get('/books/document-templates/:kind.docx', async (req, reply) => {
    const file = await templateFile(ctxOf(deps, req), kindParam(req.params));
    return reply
      .header('content-type', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document')
      .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(file.fileName)}`)
      .send(file.data);
  });

  app.post('/books/document-templates/:kind', { preValidation: smallUpload(MAX_TEMPLATE_BYTES, 'шаблон') }, async (request, reply) => {
    const req = request as UploadRequest;
    const kind = kindParam(req.params);
    return formAction(
      deps,
      reply,
      BACK,
      async () => {
        await uploadTemplate(ctxOf(deps, req), kind, uploadedFile(req, 'template', 'выберите файл .docx'));
      },
      () => ({ text: `Шаблон «${templateKindLabels[kind]}» заменён вашим файлом` }),
      'Шаблон не принят: ',
    );
  });

  app.post('/books/document-templates/:kind/reset', async (req, reply) => {
    const kind = kindParam(req.params);
    return formAction(deps, reply, BACK, () => resetTemplate(ctxOf(deps, req), kind), () => ({ text: `Для «${templateKindLabels[kind]}» снова встроенный шаблон` }));
  });

  app.post('/books/document-templates/proposal-texts', async (req, reply) =>
    formAction(deps, reply, BACK, () => setProposalTexts(ctxOf(deps, req), parseForm(textsForm, body(req))), () => ({ text: 'Тексты КП сохранены' })),
  );
}
