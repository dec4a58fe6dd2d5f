import { ErrorSpec } from './error-codes';

/** A domain error: the one way services report an expected failure (STYLE rule 7). */
export class AppError extends Error {
  constructor(
    readonly spec: ErrorSpec,
    message?: string,
    readonly data?: unknown,
  ) {
    super(message ?? spec.msg);
  }

  get code(): number {
    return this.spec.code;
  }

  get status(): number {
    return this.spec.status;
  }
}
