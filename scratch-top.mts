import { topSelfTime } from './stress-testing/src/cpuprofile-top.js';
for (const { share, fn } of topSelfTime(process.argv[2]!, Number(process.argv[3] ?? 40))) console.log(share.toFixed(1).padStart(5), fn);
