import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsEmail, IsOptional, IsString, Length, Matches, MaxLength, ValidateBy } from 'class-validator';
import { canonicalEmail } from './email-address';

/** The alphabets of the values that end up in Redis keys: nothing else ever reaches a key. */
/** 5-20 characters, as the phone columns hold: digits, the first of them may be a `+`. */
export const PHONE_PATTERN = /^(?=.{5,20}$)\+?\d+$/;
export const PHONE_RULE = 'must be 5-20 characters: digits, optionally after a +';
export const IDENTIFIER_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
/** Device secrets are issued as 43 base64url characters; anything else cannot be one. */
export const DEVICE_SECRET_PATTERN = /^[A-Za-z0-9_-]{16,128}$/;

export const IsPhone = () => applyDecorators(IsString(), Matches(PHONE_PATTERN, { message: `$property ${PHONE_RULE}` }));

export const IsPassword = () => applyDecorators(IsString(), Length(8, 128, { message: '$property must be 8-128 characters' }));

export const IsDeviceIdentifier = () =>
  applyDecorators(IsString(), Matches(IDENTIFIER_PATTERN, { message: '$property must be 1-128 letters, digits, dots, colons, dashes or underscores' }));

export const IsOptionalDeviceSecret = () =>
  applyDecorators(IsOptional(), IsString(), Matches(DEVICE_SECRET_PATTERN, { message: '$property must be the deviceSecret a login returned' }));

export const IsOptionalLabel = (max: number) => applyDecorators(IsOptional(), IsString(), MaxLength(max));

/** Validated in its canonical form (see canonicalEmail), which is also what the service receives. */
export const IsEmailAddress = () =>
  applyDecorators(
    Transform(({ value }) => (typeof value === 'string' ? (canonicalEmail(value) ?? value) : value)),
    IsString(),
    MaxLength(254),
    IsEmail({}, { message: '$property must be an email address' }),
  );

export const NICKNAME_MAX_CHARACTERS = 32;
/** Code points one user-perceived character may take: an emoji family takes 11, a stack of marks no more. */
const NICKNAME_MAX_CODE_POINTS_PER_CHARACTER = 16;
const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
// Invisible or direction-changing code points that are part of a visible sequence: the joiner
// inside an emoji ZWJ sequence, a variation selector after a visible character, the tags of a
// subdivision flag. Everything else of their kind is refused.
const SEQUENCE_PARTS =
  /(?<=\p{Extended_Pictographic}(?:[\u{1F3FB}-\u{1F3FF}]|\uFE0F)?)\u200D(?=\p{Extended_Pictographic})|(?<=[^\p{Default_Ignorable_Code_Point}\p{White_Space}])[\uFE0E\uFE0F]|(?<=\u{1F3F4}[\u{E0020}-\u{E007E}]*)[\u{E0020}-\u{E007F}]/gu;
const HIDDEN = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/u;

/** Why a nickname is refused (CONTRACT section 3), or null when it is fine. */
export function nicknameProblem(value: unknown): string | null {
  if (typeof value !== 'string') return 'must be a string';
  const characters = [...graphemes.segment(value)].map((s) => s.segment);
  if (characters.length < 1 || characters.length > NICKNAME_MAX_CHARACTERS) return `must be 1-${NICKNAME_MAX_CHARACTERS} characters`;
  if (characters.some((c) => [...c].length > NICKNAME_MAX_CODE_POINTS_PER_CHARACTER)) return 'has a character stacked with too many marks';
  if (HIDDEN.test(value.replace(SEQUENCE_PARTS, ''))) return 'must not contain control, invisible or direction-changing characters';
  if (/^\p{White_Space}*$/u.test(value)) return 'must not be only whitespace';
  return null;
}

/** Column width that holds any nickname nicknameProblem accepts. */
export const NICKNAME_MAX_CODE_POINTS = NICKNAME_MAX_CHARACTERS * NICKNAME_MAX_CODE_POINTS_PER_CHARACTER;

export const IsNickname = () =>
  ValidateBy({
    name: 'isNickname',
    validator: {
      validate: (value) => nicknameProblem(value) === null,
      defaultMessage: (args) => `${args?.property ?? 'nickname'} ${nicknameProblem(args?.value) ?? 'is invalid'}`,
    },
  });
