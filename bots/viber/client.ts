import JSONbig from 'json-bigint';
import viber from 'viber-bot';

/** Viber's 64-bit message tokens do not fit a JS number: big ones are read as strings. */
export const viberJson = JSONbig({ storeAsString: true });

export interface ViberBotOptions {
  authToken: string;
  name: string;
  avatar?: string | undefined;
  /** https://chatapi.viber.com/pa, or a local fake in tests */
  apiRoot: string;
  timeoutMs?: number;
}

/** What the Viber API answered with a non-zero status (e.g. 2: invalid auth token, 6: not subscribed). */
export class ViberApiError extends Error {
  constructor(
    readonly status: number,
    readonly statusMessage: string,
  ) {
    super(`Viber API status ${status}: ${statusMessage}`);
    this.name = 'ViberApiError';
  }
}

/**
 * The one place that reaches into viber-bot's private client. The package keeps the API root
 * on `_client._url` (a constant otherwise) and posts with needle, which parses 64-bit message
 * tokens into rounded numbers and has no timeout; its request method is replaced by one that
 * uses fetch with a timeout and json-bigint, and keeps the package's endpoints and payloads.
 */
/**
 * The callbacks set_webhook asks for. viber-bot's own default list leaves out `failed`, so a
 * message Viber could not deliver was never reported to the manager.
 */
export const viberEventTypes = ['delivered', 'seen', 'failed', 'subscribed', 'unsubscribed', 'conversation_started'];

export function createViberBot(opts: ViberBotOptions): viber.Bot {
  const bot = new viber.Bot({ authToken: opts.authToken, name: opts.name.slice(0, 28), avatar: opts.avatar ?? '', registerToEvents: viberEventTypes });
  const client = bot._client;
  client._url = opts.apiRoot.replace(/\/+$/, '');
  const endpoints: Record<string, string> = {
    setWebhook: '/set_webhook',
    getAccountInfo: '/get_account_info',
    getUserDetails: '/get_user_details',
    getOnlineStatus: '/get_online',
    sendMessage: '/send_message',
    post: '/post',
  };
  client._sendRequest = async (endpoint, data) => {
    const pathname = endpoints[endpoint];
    if (!pathname) throw new Error(`unknown Viber endpoint ${endpoint}`);
    const res = await fetch(`${client._url}${pathname}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-viber-auth-token': opts.authToken },
      body: JSON.stringify({ auth_token: opts.authToken, ...data }),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000),
    });
    const text = await res.text();
    let body: Record<string, unknown>;
    try {
      body = viberJson.parse(text) as Record<string, unknown>;
    } catch {
      throw new Error(`Viber API answered HTTP ${res.status} with a body that is not JSON`);
    }
    const status = Number(body.status);
    if (status !== 0) throw new ViberApiError(Number.isFinite(status) ? status : -1, String(body.status_message ?? `HTTP ${res.status}`));
    return body;
  };
  return bot;
}
