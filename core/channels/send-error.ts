/**
 * What an adapter throws when a send fails, so the send job knows whether trying again can help.
 * Any other error is taken as transient (network, 5xx) and retried with backoff.
 */
export class ChannelSendError extends Error {
  /** retrying cannot help: the client blocked the bot, the number does not exist… */
  readonly permanent: boolean;
  /** the adapter itself is unusable (token revoked, logged out): also reported as down */
  readonly adapterDown: boolean;
  /** the provider asked to wait (rate limit): not counted as a failed try */
  readonly retryAfterMs: number | undefined;
  /** the reason in Russian, shown to the manager whose message failed */
  readonly reason: string;

  constructor(
    message: string,
    opts: { permanent?: boolean; adapterDown?: boolean; retryAfterMs?: number; reason?: string } = {},
  ) {
    super(message);
    this.name = 'ChannelSendError';
    this.permanent = opts.permanent ?? false;
    this.adapterDown = opts.adapterDown ?? false;
    this.retryAfterMs = opts.retryAfterMs;
    this.reason = opts.reason ?? 'ошибка отправки';
  }
}
