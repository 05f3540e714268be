// proxy/config/README.md's field table must say what the validator enforces.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { README, withCurrentTable } from '../../../proxy/config/support-table.ts';

const readme = readFileSync(README, 'utf8');
t.equal(readme, withCurrentTable(readme), 'the table is current (regenerate: node proxy/config/support-table.ts)');
t.match(readme, /per_try_idle_timeout/, 'ignored fields are listed');
