import { applyDecorators } from '@nestjs/common';
import { IsEmail, IsOptional, IsString, Length, Matches, MaxLength } from 'class-validator';

/** The alphabets of the values that end up in Redis keys: nothing else ever reaches a key. */
export const PHONE_PATTERN = /^\+?\d{5,20}$/;
export const IDENTIFIER_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

export const IsPhone = () =>
  applyDecorators(IsString(), Matches(PHONE_PATTERN, { message: '$property must be 5-20 digits, optionally after a +' }));

export const IsPassword = () => applyDecorators(IsString(), Length(8, 128, { message: '$property must be 8-128 characters' }));

export const IsDeviceIdentifier = () =>
  applyDecorators(
    IsString(),
    Matches(IDENTIFIER_PATTERN, { message: '$property must be 1-128 letters, digits, dots, colons, dashes or underscores' }),
  );

export const IsOptionalLabel = (max: number) => applyDecorators(IsOptional(), IsString(), MaxLength(max));

export const IsEmailAddress = () => applyDecorators(IsString(), MaxLength(254), IsEmail({}, { message: '$property must be an email address' }));
