import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { renderContractDocs, STREAMS } from '../../lib/contracts/contract-doc.js';

describe('contract docs (architecture/contracts, npm run contracts:doc)', () => {
  for (const doc of renderContractDocs()) {
    it(`${doc.path} is what the definitions generate`, () => {
      expect(readFileSync(new URL(`../../${doc.path}`, import.meta.url), 'utf8')).to.equal(doc.text);
    });
  }

  it('names every field of every stream and every column of its table', () => {
    for (const stream of STREAMS) {
      const doc = renderContractDocs().find((d) => d.path.includes(`/${stream.name}-v`))!.text;
      for (const f of stream.fieldList) expect(doc, stream.name).to.contain(`| \`${f.name}\` |`);
      if (stream.table !== undefined) expect(doc).to.contain(`| \`kafka_offset\` | \`UInt64\``);
    }
  });

  it('shows examples that are valid messages', () => {
    for (const stream of STREAMS) {
      const result = stream.message.safeParse(stream.example);
      expect(result.success, `${stream.name}: ${result.error?.message ?? ''}`).to.equal(true);
    }
  });
});
