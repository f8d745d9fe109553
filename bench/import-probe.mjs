// Cold-start probe: imports one function bundle in this fresh process and prints how long the
// module initialisation took (what Lambda's INIT phase runs besides starting Node). Plain
// JavaScript, so no TypeScript loader sits between Node and the bundle.
import { pathToFileURL } from 'node:url';

const [bundle, exportName = 'handler'] = process.argv.slice(2);
const started = performance.now();
const module = await import(pathToFileURL(bundle).href);
const initMs = performance.now() - started;
if (typeof module[exportName] !== 'function') {
  console.error(`${bundle} exports no function ${exportName}`);
  process.exit(1);
}
console.log(JSON.stringify({ initMs }));
