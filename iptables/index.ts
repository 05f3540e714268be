export { apply, clean, IptablesError, type FamilyOptions } from './apply.ts';
export { buildCleanup, readNatState, type NatState } from './cleanup.ts';
export { registerIptablesCommand } from './cli.ts';
export { captureOptions, CaptureOptionsError, defaultCaptureOptions, type CaptureOptions } from './options.ts';
export { buildRules, legateChains } from './rules.ts';
