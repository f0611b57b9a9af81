import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ortCpuLoader } from '../test/helpers/runtime-probe.js';
import { readFileSync } from 'node:fs';
const d = readdirSync(tmpdir()).filter((x) => x.startsWith('casts-')).map((x) => join(tmpdir(), x)).pop()!;
for (const f of readdirSync(d).sort()) console.log(f, await ortCpuLoader(readFileSync(join(d, f))) ?? 'loads');
