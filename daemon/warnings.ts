// Warnings from Node and from dependencies become log lines, so that stdout
// stays one JSON object per line under journald and nothing multi-line
// reaches stderr. Node prints warnings through its own 'warning' listener,
// which is replaced here.

import type { Logger } from './log.js';

/** The AWS SDK's next minimum Node major (its NodeVersionSupportWarning). */
const AWS_SDK_NEXT_NODE_MAJOR = 22;

export function logProcessWarnings(log: Logger, nodeVersion = process.version): () => void {
  const onWarning = (warning: Error & { code?: string }) => {
    log.warn(warning.message.split('\n')[0] ?? warning.name, {
      warning: warning.name,
      ...(warning.code ? { code: warning.code } : {}),
      detail: warning.message,
    });
  };
  const previous = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', onWarning);

  // The SDK emits its Node-version warning once per thread, in whichever thread builds a client first (often a
  // worker, whose warnings go straight to stderr): say it once here, and switch the SDK's own text off everywhere.
  const major = Number(/^v(\d+)/.exec(nodeVersion)?.[1]);
  if (major < AWS_SDK_NEXT_NODE_MAJOR && process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED !== 'true') {
    log.warn(`AWS SDK releases from January 2027 require Node ${AWS_SDK_NEXT_NODE_MAJOR} or later`, {
      warning: 'NodeVersionSupportWarning',
      node: nodeVersion,
      required: `>=${AWS_SDK_NEXT_NODE_MAJOR}`,
    });
  }
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  return () => {
    process.off('warning', onWarning);
    for (const listener of previous) process.on('warning', listener);
  };
}
