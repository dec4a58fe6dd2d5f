import { ValidationError, ValidationPipe } from '@nestjs/common';
import { AppError } from './app-error';
import { ErrorCode } from './error-codes';

function describe(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((e) => {
    const field = parent ? `${parent}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((text) => `${field}: ${text}`);
    return [...own, ...describe(e.children ?? [], field)];
  });
}

/** Unknown fields are refused and every message names its field (CONTRACT section 2). */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    transform: true,
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    exceptionFactory: (errors) => new AppError(ErrorCode.INVALID_PARAM, describe(errors).join('; ')),
  });
}
