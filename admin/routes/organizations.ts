import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  archiveOrganization,
  createOrganization,
  displayName,
  getOrganization,
  listOrganizations,
  restoreOrganization,
  setDefaultOrganization,
  updateOrganization,
  type OrganizationCard,
  type OrganizationInput,
} from '../../core/organizations/organizations.js';
import { addBankAccount, removeBankAccount, setDefaultBankAccount, updateBankAccount } from '../../core/organizations/bank-accounts.js';
import { MAX_IMAGE_BYTES, organizationImageKinds, readOrganizationImage, removeOrganizationImage, setOrganizationImage } from '../../core/organizations/images.js';
import { organizationImageLabels, organizationKindLabels } from '../../core/organizations/labels.js';
import { taxModeLabels } from '../../core/documents/money.js';
import { isServiceError, notFound } from '../../core/errors.js';
import { body, formErrors, idParam, type FormBody } from '../forms.js';
import { formAction, parseForm } from '../form-action.js';
import { ctxOf, redirectWith, render, requireRoles } from '../render.js';
import { smallUpload, uploadedFile, type UploadRequest } from '../uploads.js';
import type { AdminDeps } from '../types.js';

const LIST = '/admin/books/organizations';
const cardUrl = (id: number) => `${LIST}/${id}`;

const requisiteFields = [
  'name',
  'shortName',
  'inn',
  'kpp',
  'ogrn',
  'legalAddress',
  'postalAddress',
  'phone',
  'email',
  'city',
  'directorName',
  'directorPosition',
  'directorBasis',
  'signerGenitive',
  'accountantName',
  'accountantPosition',
] as const;

const textField = z
  .string()
  .optional()
  .transform((s) => (s ?? '').trim());

/** The requisites form; the verb checks INN, KPP and OGRN for the chosen kind. */
const organizationForm = z.object({
  kind: z.enum(['legal_entity', 'sole_proprietor'], 'выберите: организация или ИП'),
  taxMode: z.enum(['osn', 'usn_no_vat', 'usn_vat5', 'usn_vat7'], 'выберите систему налогообложения'),
  ...Object.fromEntries(requisiteFields.map((f) => [f, textField])),
}) as unknown as z.ZodType<OrganizationInput>;

const bankAccountForm = z.object({ bankName: textField, bik: textField, corrAccount: textField, account: textField });

const blankValues = (): Record<string, string> => ({ kind: 'legal_entity', taxMode: 'osn', directorBasis: 'Устава' });

const valuesOf = (o: OrganizationCard): Record<string, string> =>
  Object.fromEntries(['kind', 'taxMode', ...requisiteFields].map((k) => [k, String((o as unknown as Record<string, unknown>)[k] ?? '')]));

/** «Наши организации»: the sellers, their bank accounts and images. */
export default async function organizationRoutes(app: FastifyInstance, deps: AdminDeps) {
  const labels = { kind: organizationKindLabels, taxMode: taxModeLabels, image: organizationImageLabels };

  const showCard = async (req: FastifyRequest, reply: FastifyReply, org: OrganizationCard | null, values: Record<string, string>, errors: Record<string, string> = {}, status = 200) =>
    render(
      deps,
      req,
      reply,
      'books/organization',
      { title: org ? displayName(org) : 'Новая организация', org, values, errors, labels, imageKinds: organizationImageKinds, message: Object.keys(errors).length > 0 },
      status,
    );

  /** Saves the requisites; a refused form comes back filled in with the problems under their fields. */
  const saveRequisites = async (req: FastifyRequest, reply: FastifyReply, id: number | null) => {
    requireRoles(req, 'admin', 'head');
    const ctx = ctxOf(deps, req);
    const form = body(req);
    try {
      const input = parseForm(organizationForm, form);
      const saved = id ? await updateOrganization(ctx, id, input) : await createOrganization(ctx, input);
      const text = id ? `Реквизиты «${displayName(saved)}» сохранены` : `Организация «${displayName(saved)}» добавлена`;
      return redirectWith(deps, reply, cardUrl(saved.id), { type: 'ok', text });
    } catch (e) {
      if (!isServiceError(e) || e.code !== 'invalid') throw e;
      const org = id ? await getOrganization(ctx, id) : null;
      const values = Object.fromEntries(Object.entries(form as FormBody).map(([k, v]) => [k, String([v].flat()[0] ?? '')]));
      return showCard(req, reply, org, values, formErrors(e.fields), 400);
    }
  };

  app.get('/books/organizations', async (req, reply) => {
    requireRoles(req, 'admin', 'head');
    return render(deps, req, reply, 'books/organizations', {
      title: 'Наши организации',
      organizations: await listOrganizations(ctxOf(deps, req), { includeArchived: true }),
      labels,
    });
  });

  app.get('/books/organizations/new', async (req, reply) => {
    requireRoles(req, 'admin', 'head');
    return showCard(req, reply, null, blankValues());
  });

  app.post('/books/organizations', async (req, reply) => saveRequisites(req, reply, null));

  app.get('/books/organizations/:id', async (req, reply) => {
    requireRoles(req, 'admin', 'head');
    const org = await getOrganization(ctxOf(deps, req), idParam(req.params));
    return showCard(req, reply, org, valuesOf(org));
  });

  app.post('/books/organizations/:id', async (req, reply) => saveRequisites(req, reply, idParam(req.params)));

  const orgAction = (path: string, run: typeof setDefaultOrganization, text: (name: string) => string) =>
    app.post(`/books/organizations/:id/${path}`, async (req, reply) => {
      const id = idParam(req.params);
      return formAction(deps, reply, cardUrl(id), () => run(ctxOf(deps, req), id), (o) => ({ text: text(displayName(o)) }));
    });
  orgAction('default', setDefaultOrganization, (n) => `«${n}» теперь основная: документы делаются от неё`);
  orgAction('archive', archiveOrganization, (n) => `«${n}» в архиве`);
  orgAction('restore', restoreOrganization, (n) => `«${n}» снова в работе`);

  // bank accounts
  app.post('/books/organizations/:id/accounts', async (req, reply) => {
    const id = idParam(req.params);
    return formAction(
      deps,
      reply,
      cardUrl(id),
      () => addBankAccount(ctxOf(deps, req), id, parseForm(bankAccountForm, body(req))),
      (a) => ({ text: `Счёт ${a.account} добавлен${a.isDefault ? ' и стал основным' : ''}` }),
      'Счёт не добавлен: ',
    );
  });
  app.post('/books/organizations/:id/accounts/:accountId', async (req, reply) =>
    formAction(
      deps,
      reply,
      cardUrl(idParam(req.params)),
      () => updateBankAccount(ctxOf(deps, req), idParam(req.params, 'accountId'), parseForm(bankAccountForm, body(req))),
      (a) => ({ text: `Счёт ${a.account} сохранён` }),
      'Счёт не сохранён: ',
    ),
  );
  app.post('/books/organizations/:id/accounts/:accountId/remove', async (req, reply) =>
    formAction(deps, reply, cardUrl(idParam(req.params)), () => removeBankAccount(ctxOf(deps, req), idParam(req.params, 'accountId')), (a) => ({ text: `Счёт ${a.account} удалён` })),
  );
  app.post('/books/organizations/:id/accounts/:accountId/default', async (req, reply) =>
    formAction(deps, reply, cardUrl(idParam(req.params)), () => setDefaultBankAccount(ctxOf(deps, req), idParam(req.params, 'accountId')), (a) => ({ text: `Счёт ${a.account} теперь основной` })),
  );

  // images: a little over the core's limit here, so a too big picture gets the core's clear message
  app.post('/books/organizations/:id/images/:kind', { preValidation: smallUpload(MAX_IMAGE_BYTES + 512 * 1024, 'картинка') }, async (request, reply) => {
    const req = request as UploadRequest;
    const id = idParam(req.params);
    const kind = (req.params as { kind: string }).kind;
    return formAction(
      deps,
      reply,
      cardUrl(id),
      async () => {
        const file = uploadedFile(req, kind, 'выберите файл PNG или JPEG');
        return setOrganizationImage(ctxOf(deps, req), id, kind, { mime: file.mime, data: file.data });
      },
      (r) => ({ text: `${organizationImageLabels[r.kind]}: картинка сохранена` }),
      'Картинка не сохранена: ',
    );
  });
  app.post('/books/organizations/:id/images/:kind/remove', async (req, reply) => {
    const id = idParam(req.params);
    const kind = (req.params as { kind: string }).kind;
    return formAction(deps, reply, cardUrl(id), () => removeOrganizationImage(ctxOf(deps, req), id, kind), () => ({ text: 'Картинка удалена' }));
  });
  app.get('/books/organizations/:id/images/:kind', async (req, reply) => {
    const image = await readOrganizationImage(ctxOf(deps, req), idParam(req.params), (req.params as { kind: string }).kind);
    if (!image) throw notFound('Картинка');
    return reply.header('content-type', image.mime).header('cache-control', 'private, no-cache').header('x-content-type-options', 'nosniff').send(image.data);
  });
}
