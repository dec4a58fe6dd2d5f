import { ValidationError, ValidationPipe } from '@nestjs/common';
import { AppError } from './app-error';
import { ErrorCode } from './error-codes';

/** An error lists at most this many messages (CONTRACT section 2): 6,000 unknown keys make one line. */
export const MAX_MESSAGES = 20;

function describe(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((e) => {
    const field = parent ? `${parent}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((text) => `${field}: ${text}`);
    return [...own, ...describe(e.children ?? [], field)];
  });
}

function summary(messages: string[]): string {
  if (messages.length <= MAX_MESSAGES) return messages.join('; ');
  return `${messages.slice(0, MAX_MESSAGES).join('; ')}; and ${messages.length - MAX_MESSAGES} more`;
}

/** Unknown fields are refused and every message names its field (CONTRACT section 2). */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    transform: true,
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    exceptionFactory: (errors) => new AppError(ErrorCode.INVALID_PARAM, summary(describe(errors))),
  });
}
