// --uid/--gid: Legate may be started as root (to bind privileged ports, or because the container
// starts it so) and then serves as the proxy user, whose connections the capture rules
// (`legate iptables apply --proxy-uid`) never redirect: its upstream connections leave the
// namespace instead of looping back into its own listeners.

/** A user and group, by number or by name. */
export interface RunAs {
  uid: number | string;
  gid: number | string;
}

/** Fails early, with one line, when the switch could not be made later. */
export function checkRunAs(runAs: RunAs): void {
  if (process.platform === 'win32') throw new Error('--uid/--gid are not supported on Windows');
  if (process.getuid!() !== 0) throw new Error(`--uid/--gid need Legate to start as root (it runs as uid ${process.getuid!()})`);
}

/** Drops root for good: supplementary groups, then the group, then the user (after which no more switching). */
export function dropPrivileges(runAs: RunAs): void {
  process.setgroups!([]);
  process.setgid!(runAs.gid);
  process.setuid!(runAs.uid);
}

/** How the primary tells its worker processes whom to become (environment variables survive fork). */
export function runAsEnv(runAs: RunAs | undefined): Record<string, string> {
  return runAs === undefined ? {} : { LEGATE_UID: String(runAs.uid), LEGATE_GID: String(runAs.gid) };
}

export function runAsFromEnv(env: NodeJS.ProcessEnv): RunAs | undefined {
  const { LEGATE_UID: uid, LEGATE_GID: gid } = env;
  if (uid === undefined || gid === undefined) return undefined;
  return { uid: idOrName(uid), gid: idOrName(gid) };
}

/** A numeric id as a number (setuid would look a digit string up as a name). */
export function idOrName(value: string): number | string {
  return /^\d+$/.test(value) ? Number(value) : value;
}
