export { OverloadManager, type OverloadOptions } from './manager.ts';
export { OverloadAction, ACTIONS, IDLE_ACTION } from './action.ts';
export { GlobalConnectionLimit, globalConnectionLimit, connectionLimitWarning, workerShare } from './connection-limit.ts';
export { ThresholdTrigger, ScaledTrigger, makeTrigger, type Trigger } from './trigger.ts';
export { TimerScaler, UNSCALED, type ScaledTimerType } from './scale-timers.ts';
export type { ResourceMonitor } from './monitor.ts';
