import { expect } from 'chai';
import { uuidLiteral } from '../../api/src/progress/uuid-literal.js';

describe('uuidLiteral (ids inlined into SQL)', () => {
  it('renders a UUID as a lower-case toUUID literal', () => {
    expect(uuidLiteral('0A1B2C3D-0000-4000-8000-00000000000F')).to.equal(
      "toUUID('0a1b2c3d-0000-4000-8000-00000000000f')",
    );
  });

  it('refuses anything that is not exactly the 8-4-4-4-12 hex shape', () => {
    for (const bad of [
      "00000000-0000-4000-8000-000000000000') OR 1=1 --",
      "00000000-0000-4000-8000-00000000000'",
      '00000000-0000-4000-8000-0000000000000',
      '00000000000040008000000000000000',
      '00000000-0000-4000-8000-00000000000g',
      '00000000-0000-4000-8000-000000000000\n',
      '',
    ]) {
      expect(() => uuidLiteral(bad), JSON.stringify(bad)).to.throw(TypeError);
    }
  });
});
