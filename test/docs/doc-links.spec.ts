import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, extname, join, relative, resolve } from 'node:path';

/*
 * Every relative link and image in README.md and in each .md file under docs/ points at a file or
 * directory that exists, and every #anchor (in the same file, or file.md#anchor) at a heading of the target file,
 * slugged as GitHub does. Links with a scheme (https:, mailto:, ...) are not checked. Text in code
 * blocks and code spans is not a link. No network, no dependency: a plain scan, a few milliseconds.
 */

const ROOT = join(__dirname, '..', '..');

/** README.md and every .md file under docs/, as paths relative to `root`, sorted. */
function markdownFiles(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && entry.name.endsWith('.md')) found.push(path);
    }
  };
  if (existsSync(join(root, 'docs'))) walk('docs');
  return ['README.md', ...found.sort()];
}

/** The text with the lines of fenced code blocks (``` or ~~~) emptied; line numbers are kept. */
function withoutFences(markdown: string): string {
  let fence: string | null = null;
  return markdown
    .split('\n')
    .map((line) => {
      const marker = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
      if (fence === null) {
        if (marker === undefined) return line;
        fence = marker;
        return '';
      }
      if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker)
        fence = null;
      return '';
    })
    .join('\n');
}

/** Code spans (`x`, ``x``, possibly over several lines of one paragraph) blanked out, newlines kept. */
function withoutCodeSpans(text: string): string {
  const blank = (s: string) => s.replace(/[^\n]/g, ' ');
  return text
    .split(/(\n[ \t]*\n)/)
    .map((paragraph) => {
      let out = '';
      let i = 0;
      while (i < paragraph.length) {
        if (paragraph[i] !== '`') {
          out += paragraph[i++];
          continue;
        }
        let end = i;
        while (paragraph[end] === '`') end++;
        const width = end - i;
        let close = -1;
        for (let k = end; k < paragraph.length;) {
          const m = paragraph.indexOf('`', k);
          if (m < 0) break;
          let n = m;
          while (paragraph[n] === '`') n++;
          if (n - m === width) {
            close = m;
            break;
          }
          k = n;
        }
        if (close < 0) {
          out += paragraph.slice(i, end);
          i = end;
        } else {
          out += blank(paragraph.slice(i, close + width));
          i = close + width;
        }
      }
      return out;
    })
    .join('');
}

/** GitHub's slug of a heading's text (github-slugger): lowercase, punctuation but `-`/`_` dropped, spaces to `-`. */
export function githubSlug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** A heading's text as GitHub renders it: no link targets, images, emphasis markers or tags. */
function headingText(raw: string): string {
  return raw
    .split(/(`+[^`]*`+)/)
    .map((part, i) =>
      i % 2 === 1
        ? part.replace(/^`+|`+$/g, '')
        : part
            .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
            .replace(/<[^>]+>/g, '')
            .replace(/[*~]/g, '')
            .replace(/(^|[^\p{L}\p{N}])_+|_+(?=[^\p{L}\p{N}]|$)/gu, '$1'),
    )
    .join('')
    .trim();
}

/** The anchors a markdown file offers: its headings' slugs (duplicates get -1, -2, ...) and <a id/name>. */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const add = (text: string) => {
    const base = githubSlug(headingText(text));
    let slug = base;
    while (seen.has(slug)) {
      const n = seen.get(base)! + 1;
      seen.set(base, n);
      slug = `${base}-${n}`;
    }
    seen.set(slug, 0);
    anchors.add(slug);
  };
  const lines = withoutFences(markdown).split('\n');
  lines.forEach((line, i) => {
    const atx = /^ {0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/.exec(line);
    if (atx) return add(atx[1] ?? '');
    const next = lines[i + 1];
    const setext = next !== undefined && /^ {0,3}(=+|-+)[ \t]*$/.test(next);
    const afterBreak = i === 0 || lines[i - 1].trim() === '' || /^ {0,3}#{1,6}([ \t]|$)/.test(lines[i - 1]);
    if (setext && afterBreak && line.trim() !== '' && !/^ {0,3}([-*+>|#]|\d+[.)])/.test(line)) add(line.trim());
  });
  for (const m of markdown.matchAll(/<a\s[^>]*\b(?:id|name)=["']([^"']+)["']/gi)) anchors.add(m[1]);
  return anchors;
}

interface Link {
  line: number;
  target: string;
}

/** The link and image targets of a markdown file: [t](x), ![a](x), [ref]: x, <a href>, <img src>. */
function linksOf(markdown: string): Link[] {
  const text = withoutCodeSpans(withoutFences(markdown));
  const lineAt = (index: number) => text.slice(0, index).split('\n').length;
  const links: Link[] = [];
  const patterns = [
    // `](target)` or `](target "title")`: the end of every inline link or image, whatever its text.
    /\]\(\s*(<[^>\n]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)(?:\s+(?:"[^"]*"|'[^']*'|\([^)]*\)))?\s*\)/g,
    /^ {0,3}\[[^\]]+\]:[ \t]*(<[^>\n]*>|\S+)/gm,
    /<(?:a|img)\s[^>]*\b(?:href|src)=["']([^"']*)["']/gi,
  ];
  for (const pattern of patterns) {
    for (const m of text.matchAll(pattern)) links.push({ line: lineAt(m.index), target: m[1].replace(/^<|>$/g, '') });
  }
  return links.sort((a, b) => a.line - b.line);
}

/** Every broken relative link of one markdown file (path relative to root), as "file:line: target: why". */
export function brokenLinks(root: string, file: string): string[] {
  const source = readFileSync(join(root, file), 'utf8');
  const broken: string[] = [];
  for (const { line, target } of linksOf(source)) {
    const fail = (why: string) => broken.push(`${file}:${line}: ${target}: ${why}`);
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) continue; // https:, mailto:, ...: external
    if (target === '') {
      fail('empty link');
      continue;
    }
    const hash = target.indexOf('#');
    const pathPart = (hash < 0 ? target : target.slice(0, hash)).replace(/\?.*$/, '');
    const anchor = hash < 0 ? '' : target.slice(hash + 1);
    let path: string;
    let fragment: string;
    try {
      path = decodeURIComponent(pathPart);
      fragment = decodeURIComponent(anchor);
    } catch {
      fail('bad percent-encoding');
      continue;
    }
    const resolved =
      path === '' ? join(root, file) : path.startsWith('/') ? join(root, path) : resolve(root, dirname(file), path);
    if (relative(root, resolved).startsWith('..')) {
      fail('outside the repository');
      continue;
    }
    if (!existsSync(resolved)) {
      fail(`no such file (${relative(root, resolved)})`);
      continue;
    }
    if (fragment === '' || !statSync(resolved).isFile() || extname(resolved).toLowerCase() !== '.md') continue;
    if (!anchorsOf(readFileSync(resolved, 'utf8')).has(fragment))
      fail(`no heading with the anchor #${fragment} in ${relative(root, resolved)}`);
  }
  return broken;
}

describe('GitHub heading slugs', () => {
  it('lowercases, drops punctuation except - and _, turns each space into -', () => {
    expect(githubSlug('Limits and refusals')).toBe('limits-and-refusals');
    expect(githubSlug('Inbox REST API (users)')).toBe('inbox-rest-api-users');
    expect(githubSlug('Scaling: N gateways, M workers')).toBe('scaling-n-gateways-m-workers');
    expect(githubSlug('What was found (10:28: 61 %, 16 KB/socket)')).toBe('what-was-found-1028-61--16-kbsocket');
    expect(githubSlug('Moving from Django Channels + Celery')).toBe('moving-from-django-channels--celery');
  });

  it('takes the rendered text of a heading, numbers duplicates and skips code blocks', () => {
    const anchors = anchorsOf(
      [
        '# Classic or quorum queue (`AMQP_QUEUE_TYPE`)',
        '## See [scaling](scaling.md) **now**',
        '## Tests',
        '```sh',
        '# Tests (a comment in a code block, not a heading)',
        '```',
        '## Tests',
        '## Tests ##',
        'Setext heading',
        '--------------',
        '<a id="custom-anchor"></a>',
      ].join('\n'),
    );
    expect([...anchors]).toEqual([
      'classic-or-quorum-queue-amqp_queue_type',
      'see-scaling-now',
      'tests',
      'tests-1',
      'tests-2',
      'setext-heading',
      'custom-anchor',
    ]);
  });
});

describe('the link check itself', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'doc-links-'));
    mkdirSync(join(root, 'docs', 'screenshots'), { recursive: true });
    writeFileSync(join(root, 'docs', 'screenshots', 'shot.png'), '');
    writeFileSync(
      join(root, 'docs', 'a.md'),
      '# A\n\n## Part one\n\n![shot](screenshots/shot.png) [up](../README.md#top)\n',
    );
    writeFileSync(
      join(root, 'README.md'),
      [
        '# Top',
        '[ok](docs/a.md) [ok](docs/a.md#part-one) [ok](#top) [ok](https://example.com/x.md) [ok](mailto:a@b.c)',
        '[missing file](docs/b.md)',
        '[missing anchor](docs/a.md#part-two) and [here](#nowhere)',
        '![missing image](docs/screenshots/none.png)',
        '`[in a code span](nowhere.md)`',
        '```',
        '[in a code block](nowhere.md)',
        '```',
      ].join('\n'),
    );
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('finds README.md and the docs', () => {
    expect(markdownFiles(root)).toEqual(['README.md', join('docs', 'a.md')]);
  });

  it('reports each missing file, anchor and image with its line, and nothing else', () => {
    expect(brokenLinks(root, 'README.md')).toEqual([
      'README.md:3: docs/b.md: no such file (docs/b.md)',
      'README.md:4: docs/a.md#part-two: no heading with the anchor #part-two in docs/a.md',
      'README.md:4: #nowhere: no heading with the anchor #nowhere in README.md',
      'README.md:5: docs/screenshots/none.png: no such file (docs/screenshots/none.png)',
    ]);
    expect(brokenLinks(root, join('docs', 'a.md'))).toEqual([]);
  });
});

describe('relative links in README.md and docs/', () => {
  const files = markdownFiles(ROOT);

  it('scans the README and the docs', () => {
    expect(files[0]).toBe('README.md');
    expect(files.length).toBeGreaterThan(1);
  });

  it.each(files)('%s: every relative link and anchor resolves', (file) => {
    expect(brokenLinks(ROOT, file)).toEqual([]);
  });
});
