// What the status bar item says for each daemon state. Pure: extension/status.ts only
// copies these fields onto the vscode.StatusBarItem.
import type { DaemonState } from './client';

export interface StatusText {
  readonly text: string;
  readonly tooltip: string;
  /** Error states get the error background. */
  readonly error: boolean;
}

export function statusText(state: DaemonState): StatusText {
  switch (state.kind) {
    case 'stopped':
      return {
        text: '$(circle-outline) Upscale',
        tooltip: 'Upscale daemon: not running (it starts on first use). Click to show models.',
        error: false,
      };
    case 'starting':
      return { text: '$(loading~spin) Upscale', tooltip: 'Upscale daemon: starting…', error: false };
    case 'running': {
      if (state.jobs === 0) {
        return {
          text: `$(check) Upscale · ${state.provider}`,
          tooltip: `Upscale daemon: idle, running models on ${state.provider} (${state.why}). Click to show models.`,
          error: false,
        };
      }
      const queued = state.jobs - 1;
      return {
        text: `$(sync~spin) Upscale ${state.jobs} · ${state.provider}`,
        tooltip: `Upscale daemon: busy on ${state.provider} (${state.why}), 1 job running${queued > 0 ? `, ${queued} queued` : ''}. Click to show models.`,
        error: false,
      };
    }
    case 'restarting':
      return { text: '$(warning) Upscale', tooltip: `Upscale daemon: ${state.reason}; restarting…`, error: true };
    case 'failed':
      return {
        text: '$(error) Upscale',
        tooltip: `Upscale daemon: ${state.reason}. Run "Upscale: Restart Daemon" to try again.`,
        error: true,
      };
  }
}
