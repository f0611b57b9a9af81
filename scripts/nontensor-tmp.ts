import { nodeTestNames } from '../test/helpers/nodetests.js';
import { loadNodeCase } from '../test/helpers/nodecase.js';
console.log(nodeTestNames().filter((n) => !loadNodeCase(n)).filter((n) => !/INT4|INT2|FLOAT4E2M1|sequence|_opt$/.test(n)).join(' '));
