/**
 * Elastic APM, opt-in: started only when ELASTIC_APM_SERVER_URL is set. Every entry point
 * imports this module FIRST, so the agent hooks module loading before koa, @koa/router,
 * kafkajs and http are loaded. The agent reads its own ELASTIC_APM_* variables
 * (documented in docs/configuration.md): SERVICE_NAME, SECRET_TOKEN, ENVIRONMENT...
 */
import apm from 'elastic-apm-node';
import { stripQueryStrings } from './strip-query.js';

if (
  process.env.ELASTIC_APM_SERVER_URL !== undefined &&
  process.env.ELASTIC_APM_SERVER_URL !== '' &&
  !apm.isStarted()
) {
  apm.start({
    serviceName: process.env.ELASTIC_APM_SERVICE_NAME ?? 'streaming-analytics',
    // Bodies may carry viewer data; headers carry tokens: never captured.
    captureBody: 'off',
    captureHeaders: false,
    sanitizeFieldNames: ['authorization', '*token*', '*secret*', '*password*', 'cookie'],
    // No cloud metadata probing (also: no network beyond the APM server here).
    cloudProvider: 'none',
    logLevel: (process.env.ELASTIC_APM_LOG_LEVEL as 'warn' | undefined) ?? 'warn',
  });
  // Query strings carry signed download links' credentials: never sent (strip-query.ts).
  apm.addFilter(stripQueryStrings);
}

export { apm };
