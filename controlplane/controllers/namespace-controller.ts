// PLACEHOLDER (being written): namespace-controller.
import type { ControllerContext } from './context.js';
import type { Controller } from './types.js';

export function create(_ctx: ControllerContext): Controller {
  return { name: 'namespace-controller', async start() {}, stop() {} };
}
