import { existsSync, readdirSync, readFileSync } from 'fs';
import { dirname, isAbsolute, join, relative, resolve } from 'path';
import { parseEnv } from 'util';
import { ErrorCode } from '../common/error-codes';
import { AppConfig, loadConfig } from './app-config';

/**
 * The repository's docs stand alone: a clone has everything they point to, and they name every
 * setting and every business code the code has. Each check is also run on a broken example, so
 * a check that can no longer fail fails here.
 */
const ROOT = resolve(__dirname, '../..');
const README = join(ROOT, 'README.md');
const API = join(ROOT, 'docs/api.md');
const ENV_EXAMPLE = join(ROOT, '.env.example');

/** The variables loadConfig reads: the properties of AppConfig. */
const VARIABLES = Object.keys(new AppConfig());
const DEFAULTS = new AppConfig() as unknown as Record<string, unknown>;

const read = (file: string) => readFileSync(file, 'utf8');
const name = (file: string) => relative(ROOT, file);
const docs = () => [
  README,
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => join(ROOT, 'docs', f)),
];

/** The text outside fenced code blocks and code spans, where Markdown makes links; line count kept. */
function prose(markdown: string): string {
  let fenced = false;
  return markdown
    .split('\n')
    .map((line) => {
      if (/^\s*(```|~~~)/.test(line)) {
        fenced = !fenced;
        return '';
      }
      return fenced ? '' : line.replace(/(`+)[^`]*?\1/g, '');
    })
    .join('\n');
}

/** Link targets: inline links and images, reference definitions, autolinks. */
function linkTargets(markdown: string): string[] {
  const text = prose(markdown);
  const inline = [...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]);
  const references = [...text.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1]);
  const autolinks = [...text.matchAll(/<([a-z][a-z0-9+.-]*:[^\s>]+)>/gi)].map((m) => m[1]);
  return [...inline, ...references, ...autolinks];
}

/** GitHub's anchors of a Markdown file's headings. */
function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const text = heading[1].replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/<[^>]+>/g, '');
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

const WEB = /^(https?|mailto):/i;

/** What is wrong with the links of `file` (given its text): each leaves the repository or points nowhere. */
function linkProblems(file: string, markdown: string): string[] {
  const problems: string[] = [];
  if (/\.\.\/shared\b|\bCONTRACT\b/.test(markdown)) problems.push(`${name(file)} mentions the contract outside the repository (../shared, CONTRACT)`);
  for (const target of linkTargets(markdown)) {
    const at = `${name(file)}: link ${target}`;
    if (WEB.test(target)) continue;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('/') || isAbsolute(target)) {
      problems.push(`${at} leaves the repository`);
      continue;
    }
    const [path, fragment] = target.split('#', 2);
    const resolved = path === '' ? file : resolve(dirname(file), decodeURIComponent(path));
    if (relative(ROOT, resolved).startsWith('..')) {
      problems.push(`${at} leaves the repository`);
    } else if (path !== '' && !existsSync(resolved)) {
      problems.push(`${at} points to a file that does not exist`);
    } else if (fragment && resolved.endsWith('.md')) {
      const text = resolved === file ? markdown : read(resolved);
      if (!anchorsOf(text).has(decodeURIComponent(fragment))) problems.push(`${at} points to a heading that does not exist`);
    }
  }
  return problems;
}

/** The text of the `## <title>` section, up to the next heading of that level. */
function section(markdown: string, title: string): string {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => line.trim() === `## ${title}`);
  if (start === -1) return '';
  const end = lines.findIndex((line, i) => i > start && /^##\s/.test(line));
  return lines.slice(start + 1, end === -1 ? undefined : end).join('\n');
}

/** The cells of the section's table rows (header and separator rows included). */
function rows(text: string): string[][] {
  return text
    .split('\n')
    .filter((line) => line.trim().startsWith('|'))
    .map((line) =>
      line
        .trim()
        .replace(/^\||\|$/g, '')
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim()),
    );
}

/** Configuration variables missing from the first column of the `## Configuration` table. */
function undocumentedVariables(file: string, markdown: string): string[] {
  const documented = new Set(rows(section(markdown, 'Configuration')).flatMap(([first]) => [...first.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1])));
  return VARIABLES.filter((variable) => !documented.has(variable)).map((variable) => `${name(file)} has no row for ${variable} in its Configuration table`);
}

/** Business codes missing from the `## Business codes` table, or listed with another HTTP status. */
function undocumentedCodes(file: string, markdown: string): string[] {
  const listed = new Map(rows(section(markdown, 'Business codes')).map(([code, status]) => [code, status]));
  return Object.values(ErrorCode)
    .filter(({ code, status }) => listed.get(String(code)) !== String(status))
    .map(({ code, status }) => `${name(file)} does not list business code ${code} with HTTP ${status} in its Business codes table`);
}

/** What is wrong with an .env example: a variable missing, unknown, or shown with another value than its default. */
function envExampleProblems(text: string): string[] {
  const assignments = text.split('\n').flatMap((line) => {
    const m = /^#?\s*([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    return m ? [`${m[1]}=${m[2]}`] : [];
  });
  const values = parseEnv(assignments.join('\n'));
  const problems = [
    ...VARIABLES.filter((v) => !(v in values)).map((v) => `.env.example does not list ${v}`),
    ...Object.keys(values)
      .filter((v) => !VARIABLES.includes(v))
      .map((v) => `.env.example lists ${v}, which the configuration does not read`),
    ...VARIABLES.filter((v) => v in values && values[v] !== String(DEFAULTS[v] ?? '')).map(
      (v) => `.env.example shows ${v}=${values[v]}, but its default is ${JSON.stringify(DEFAULTS[v] ?? '')}`,
    ),
  ];
  try {
    loadConfig(values);
  } catch (err) {
    problems.push(`.env.example, uncommented, is refused: ${(err as Error).message}`);
  }
  return problems;
}

describe('the docs stand alone', () => {
  it('has no link in README.md or docs/*.md that leaves the repository or points nowhere', () => {
    expect(docs().flatMap((file) => linkProblems(file, read(file)))).toEqual([]);
  });

  it('lists every configuration variable, with its default, in .env.example', () => {
    expect(envExampleProblems(read(ENV_EXAMPLE))).toEqual([]);
  });

  it("lists every configuration variable in README's and docs/api.md's configuration tables", () => {
    expect([...undocumentedVariables(README, read(README)), ...undocumentedVariables(API, read(API))]).toEqual([]);
  });

  it('lists every business code with its HTTP status in docs/api.md', () => {
    expect(undocumentedCodes(API, read(API))).toEqual([]);
  });
});

describe('the checks of the docs catch what they are for', () => {
  const doc = join(ROOT, 'docs/example.md');

  it.each([
    ['a link out of the repository', '[contract](../../shared/CONTRACT.md)', 'leaves the repository'],
    ['a mention of the contract', 'see `../shared/CONTRACT.md`', 'mentions the contract'],
    ['an absolute path', '[x](/etc/hosts)', 'leaves the repository'],
    ['a file URL', '[x](file:///etc/hosts)', 'leaves the repository'],
    ['a reference definition out of the repository', '[x]: ../../../outside.md', 'leaves the repository'],
    ['a missing file', '[x](api-v2.md)', 'does not exist'],
    ['a missing heading', '[x](api.md#no-such-heading)', 'heading that does not exist'],
    ['a missing heading of the same file', '# Title\n\n[x](#other)', 'heading that does not exist'],
  ])('flags %s', (_what, markdown, problem) => {
    expect(linkProblems(doc, markdown).join('\n')).toContain(problem);
  });

  it('accepts links inside the repository, headings that exist, web sites, and code', () => {
    const markdown = [
      '# Title',
      '## Devices over Socket.IO',
      '[a](api.md#business-codes) [b](../README.md) [c](#title) [d](#devices-over-socketio) [e](https://go-zero.dev)',
      '`[f](../../outside.md)`',
      '```',
      '[g](/etc/hosts)',
      '```',
    ].join('\n');
    expect(linkProblems(doc, markdown)).toEqual([]);
  });

  it('flags a variable missing from a configuration table, and a table that is not there', () => {
    const table = ['## Configuration', '', '| variable | default |', '|---|---|', ...VARIABLES.slice(1).map((v) => `| \`${v}\` | x |`)].join('\n');
    expect(undocumentedVariables(doc, table)).toEqual([`docs/example.md has no row for ${VARIABLES[0]} in its Configuration table`]);
    expect(undocumentedVariables(doc, table.replace('## Configuration', '## Settings'))).toHaveLength(VARIABLES.length);
  });

  it('flags a business code that is missing or listed with another HTTP status', () => {
    const specs = Object.values(ErrorCode);
    const table = ['## Business codes', '| code | HTTP | meaning |', '|---|---|---|', ...specs.map(({ code, status }) => `| ${code} | ${status} | x |`)].join(
      '\n',
    );
    expect(undocumentedCodes(doc, table)).toEqual([]);
    const [first, second] = specs;
    const broken = table.replace(`| ${first.code} | ${first.status} |`, '').replace(`| ${second.code} | ${second.status} |`, `| ${second.code} | 299 |`);
    expect(undocumentedCodes(doc, broken)).toHaveLength(2);
  });

  it('flags an .env example with a variable missing, unknown, or away from its default', () => {
    const example = read(ENV_EXAMPLE);
    expect(envExampleProblems(example.replace(/^# PORT=.*$/m, ''))).toContain('.env.example does not list PORT');
    expect(envExampleProblems(`${example}\n# NO_SUCH_SETTING=1\n`)).toContain('.env.example lists NO_SUCH_SETTING, which the configuration does not read');
    expect(envExampleProblems(example.replace(/^# PORT=.*$/m, '# PORT=8080')).join('\n')).toContain('PORT=8080, but its default is 3000');
  });
});
