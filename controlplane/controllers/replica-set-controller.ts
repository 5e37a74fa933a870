// PLACEHOLDER (being written): replica-set-controller.
import type { ControllerContext } from './context.js';
import type { Controller } from './types.js';

export function create(_ctx: ControllerContext): Controller {
  return { name: 'replica-set-controller', async start() {}, stop() {} };
}
