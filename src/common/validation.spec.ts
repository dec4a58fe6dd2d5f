import { nicknameProblem } from './validation';

describe('nicknameProblem', () => {
  it.each([
    ['Lin'],
    ['林小明'],
    ['Zoë'],
    ['e\u0301'], // a combining accent on its letter
    ['❤️'], // a variation selector after its character
    ['👨‍👩‍👧‍👦'], // zero-width joiners inside an emoji sequence
    ['🏴󠁧󠁢󠁳󠁣󠁴󠁿'], // a subdivision flag's tag characters
    ['x'.repeat(32)],
    ['👨‍👩‍👧‍👦'.repeat(32)],
  ])('accepts %j', (nickname) => {
    expect(nicknameProblem(nickname)).toBeNull();
  });

  it.each([
    ['', /1-32 characters/],
    ['x'.repeat(33), /1-32 characters/],
    ['   ', /only whitespace/],
    ['\u3000', /only whitespace/],
    ['a\u0000b', /control/],
    ['a\nb', /control/],
    ['evil\u202Etxt', /direction-changing/],
    ['\u2066x\u2069', /direction-changing/],
    ['ad\u200Bmin', /invisible/],
    ['a\u200Db', /invisible/], // a joiner between letters joins nothing visible
    ['\uFEFFadmin', /invisible/],
    ['\u3164', /invisible/], // Hangul filler
    ['\ud800', /invisible/], // a lone surrogate cannot be stored
    ['a' + '\u0301'.repeat(20), /too many marks/],
  ])('refuses %j', (nickname, why) => {
    expect(nicknameProblem(nickname)).toMatch(why);
  });

  it('refuses what is not a string', () => {
    expect(nicknameProblem(42)).toMatch(/string/);
  });
});
