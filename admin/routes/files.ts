import type { FastifyInstance } from 'fastify';
import { readAttachment } from '../../core/conversations/conversations.js';
import { attachmentsDirFor } from '../../core/channels/attachments.js';
import { idParam } from '../forms.js';
import { ctxOf } from '../render.js';
import type { AdminDeps } from '../types.js';

/** Types a browser shows or plays without running anything from the file. */
const playable = (mime: string) => /^(image\/(jpeg|png|gif|webp)|audio\/[\w.+-]+|video\/[\w.+-]+)$/.test(mime);

/** Files clients sent in messengers, opened from a record's history or its «Документы» tab. */
export default async function fileRoutes(app: FastifyInstance, deps: AdminDeps) {
  const dir = attachmentsDirFor(deps.services.config.DATA_DIR);
  app.get('/messages/:id/attachments/:n', async (req, reply) => {
    const n = Number((req.params as { n: string }).n);
    // readAttachment applies the access rules of the conversation the message belongs to
    const a = await readAttachment(ctxOf(deps, req), idParam(req.params), Number.isInteger(n) && n >= 0 ? n : -1, dir);
    // a voice note plays and a photo shows in the page; anything else (HTML, SVG…) only downloads
    const inline = (req.query as { inline?: string }).inline === '1' && playable(a.mime);
    return reply
      .type(a.mime)
      .header('content-disposition', `${inline ? 'inline' : 'attachment'}; filename*=UTF-8''${encodeURIComponent(a.name)}`)
      .header('x-content-type-options', 'nosniff')
      .send(a.data);
  });
}
