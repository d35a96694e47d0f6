import { UserError } from '../../lib/errors/user-error.js';

/** Port the local gateway prefers when MODELFLEET_GATEWAY_PORT is not set; a free one is taken when it is busy. */
export const DEFAULT_GATEWAY_PORT = 8000;

/**
 * The port the local gateway asks for: MODELFLEET_GATEWAY_PORT when set (0 means any free port,
 * which is what tests running side by side use), DEFAULT_GATEWAY_PORT otherwise. Anything that is
 * not a port number is refused instead of being read as "any port": someone who typed
 * `MODELFLEET_GATEWAY_PORT=80OO` expects the gateway on a port they chose, not on a random one.
 */
export function gatewayPortSetting(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.MODELFLEET_GATEWAY_PORT;
  if (raw === undefined || raw.trim() === '') return DEFAULT_GATEWAY_PORT;
  const port = Number(raw.trim());
  // Digits only: Number() would also take '0x1f90', '8e3' or '8000.0'.
  if (!/^\d+$/.test(raw.trim()) || port > 65_535) {
    throw new UserError('GATEWAY_OPTION_INVALID', `MODELFLEET_GATEWAY_PORT must be a port number from 0 to 65535 (0 picks any free port), got "${raw}"`,
      'Set it to a whole number such as 8000, or unset it to use 8000 (or the next free port when 8000 is taken).');
  }
  return port;
}

/**
 * The port the gateway of the environment at `index` (in promotion order) asks for: the setting
 * for the first, the next ports for the later ones (8000, 8001, ...), any free port for all
 * when the setting is 0. A busy port falls back to a free one, as for the first.
 */
export function environmentGatewayPort(index: number, env: NodeJS.ProcessEnv = process.env): number {
  const base = gatewayPortSetting(env);
  return base === 0 ? 0 : Math.min(65_535, base + index);
}
