/**
 * A configured per-user or per-object cap was reached (channels a user owns, distinct reactions
 * on one message). Stores throw it from inside the write that would pass the cap, so the cap holds
 * under concurrency and nothing is written; the message says what the cap is, for the client.
 */
export class QuotaExceededError extends Error {
  constructor(
    readonly limit: number,
    message: string,
  ) {
    super(message);
    this.name = 'QuotaExceededError';
  }
}
