import { ErrorCode, ErrorSpec } from './error-codes';

/** A domain error: the one way services report an expected failure. */
export class AppError extends Error {
  constructor(
    readonly spec: ErrorSpec,
    message?: string,
    readonly data?: unknown,
  ) {
    super(message ?? spec.msg);
  }

  /** A 429 telling the client when to try again (the `Retry-After` header, seconds). */
  static tooManyRequests(message: string, retryAfterSeconds: number): AppError {
    return Object.assign(new AppError(ErrorCode.TOO_MANY_REQUESTS, message), { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterSeconds)) });
  }

  retryAfterSeconds?: number;

  get code(): number {
    return this.spec.code;
  }

  get status(): number {
    return this.spec.status;
  }
}
