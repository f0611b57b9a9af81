import { convert } from '../src/tools/convert.js';
import { formatVerification } from '../src/tools/verify.js';
import { loadNodeCase } from '../test/helpers/nodecase.js';
const r = await convert(loadNodeCase('test_tan')!.model());
console.log(formatVerification(r.verification).join('\n'), r.verification.keptIo, r.notes);
