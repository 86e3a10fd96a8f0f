import type { FastifyRequest } from 'fastify';
import { invalid } from '../core/errors.js';

/** A small file sent with a form (a template, an image, a price list), read whole into memory. */
export interface SmallUpload {
  fileName: string;
  mime: string;
  data: Buffer;
}

export type UploadRequest = FastifyRequest & { upload?: SmallUpload; uploadError?: string };

/**
 * A route's `preValidation` for a multipart form with one small file: the fields go into the body
 * (so the CSRF check sees the token), the file into `req.upload`. A file over `maxBytes` is not
 * refused here but noted in `req.uploadError`, so the route's `uploadedFile` turns it into the
 * usual flash on the form's page rather than an error page.
 */
export function smallUpload(maxBytes: number, what = 'файл') {
  const tooBig = `${what} больше ${Math.round(maxBytes / 1024 / 1024)} МБ`;
  return async (request: FastifyRequest) => {
    const req = request as UploadRequest;
    if (!req.isMultipart()) return;
    const fields: Record<string, string> = {};
    try {
      for await (const part of req.parts({ limits: { files: 1, fileSize: maxBytes + 1 } })) {
        if (part.type === 'file') {
          const data = await part.toBuffer();
          if (part.filename && data.length) req.upload = { fileName: part.filename, mime: part.mimetype || 'application/octet-stream', data };
        } else fields[part.fieldname] = String(part.value);
      }
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code !== 'FST_REQ_FILE_TOO_LARGE' && code !== 'FST_FILES_LIMIT') throw e;
      req.uploadError = code === 'FST_FILES_LIMIT' ? `выберите один ${what}` : tooBig;
    }
    if (req.upload && req.upload.data.length > maxBytes) {
      req.uploadError = tooBig;
      delete req.upload;
    }
    req.body = fields;
  };
}

/** The file `smallUpload` read, or an `invalid` naming the form's file field: for a formAction's run. */
export function uploadedFile(req: UploadRequest, field: string, missing: string): SmallUpload {
  if (req.uploadError) throw invalid({ [field]: req.uploadError });
  if (!req.upload) throw invalid({ [field]: missing });
  return req.upload;
}
