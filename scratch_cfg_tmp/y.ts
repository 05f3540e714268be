import { parseDocument, LineCounter } from 'yaml';
const lc = new LineCounter();
const d = parseDocument('{\n\t"a": {\n\t\t"b": 1,\n\t\t"b": 2}\n}', { lineCounter: lc, prettyErrors: false });
console.log(d.errors.map(e => [e.message, e.linePos]));
const d2 = parseDocument('a: [1,\n b: 2', { lineCounter: lc, prettyErrors: false });
console.log(d2.errors.map(e => [e.message, e.linePos, e.code]));
