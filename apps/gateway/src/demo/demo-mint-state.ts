import type { DemoConfig } from '@app/config';

/**
 * Whether this gateway mints demo tokens and, when it does not, why: the demo page tells the user
 * what would switch it on (`switched_off`) or that nothing would (`public_key`).
 */
export type DemoMintState = { mint: true; reason: null } | { mint: false; reason: 'switched_off' | 'public_key' };

export function demoMintState(config: DemoConfig): DemoMintState {
  // Only an HMAC secret can sign; with RS*/ES* the gateway holds the public key alone.
  if (!config.JWT_ALGORITHM.startsWith('HS')) return { mint: false, reason: 'public_key' };
  if (!config.DEMO_TOKEN_MINT) return { mint: false, reason: 'switched_off' };
  return { mint: true, reason: null };
}
