// One local "Lambda container": a worker thread that imports a function's bundled handler once
// (the cold start) and then serves invocations one at a time, like a Lambda execution environment.
// Plain JavaScript on purpose: it runs the bundle from cdk.out exactly as Lambda's bootstrap would,
// with no TypeScript loader in between.

import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';

const { handlerFile, handlerName, functionName, memorySize } = workerData;
const started = performance.now();
let handler;
try {
  const module = await import(pathToFileURL(handlerFile).href);
  handler = module[handlerName];
  if (typeof handler !== 'function') throw new Error(`${handlerFile} exports no function ${handlerName}`);
  parentPort.postMessage({ type: 'ready', initMs: performance.now() - started });
} catch (error) {
  parentPort.postMessage({
    type: 'init-error',
    error: { name: error?.name, message: error?.message, stack: error?.stack },
  });
}

parentPort.on('message', async (message) => {
  if (message.type === 'shutdown') {
    // process.exit runs exit hooks (Playwright kills the browsers it launched from one).
    process.exit(0);
  }
  if (message.type !== 'invoke' || handler === undefined) return;
  const context = {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: message.functionArn,
    memoryLimitInMB: String(memorySize),
    awsRequestId: message.requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, message.deadline - Date.now()),
    done() {},
    fail() {},
    succeed() {},
  };
  try {
    const value = await handler(message.event, context);
    parentPort.postMessage({ type: 'result', id: message.id, ok: true, value: value ?? null });
  } catch (error) {
    parentPort.postMessage({
      type: 'result',
      id: message.id,
      ok: false,
      error: { name: error?.name ?? 'Error', message: error?.message ?? String(error), stack: error?.stack },
    });
  }
});
