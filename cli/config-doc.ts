import { writeFileSync } from 'node:fs';
import { renderConfigDoc } from '../lib/config/doc.js';

writeFileSync('docs/configuration.md', renderConfigDoc());
process.stdout.write('wrote docs/configuration.md\n');
