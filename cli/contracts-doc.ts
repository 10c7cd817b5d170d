import { writeFileSync } from 'node:fs';
import { renderContractDocs } from '../lib/contracts/contract-doc.js';

for (const doc of renderContractDocs()) {
  writeFileSync(doc.path, doc.text);
  process.stdout.write(`wrote ${doc.path}\n`);
}
