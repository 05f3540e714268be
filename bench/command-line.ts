// The command lines of the scripts run by hand (soak, chaos, idle memory, mesh scale, fuzz): node's
// parseArgs with --help, and one line naming the problem (exit 2) for an unknown option, a missing
// value or a number out of range, instead of a stack trace.
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

type Values<O extends ParseArgsOptionsConfig> = ReturnType<typeof parseArgs<{ options: O }>>['values'];

export class CommandLine {
  private readonly command: string;
  private readonly usage: string;

  /** `usage` is printed by --help and after every error: one line per option. */
  constructor(command: string, usage: string) {
    this.command = command;
    this.usage = usage;
  }

  parse<O extends ParseArgsOptionsConfig>(options: O): Values<O> {
    let parsed: { values: Record<string, unknown> };
    try {
      parsed = parseArgs({ options: { ...options, help: { type: 'boolean', short: 'h' } } });
    } catch (err) {
      return this.fail((err as Error).message);
    }
    if (parsed.values.help === true) {
      console.log(this.usage);
      process.exit(0);
    }
    return parsed.values as Values<O>;
  }

  /** The option's value as a number of at least `min`. */
  number(name: string, value: string, min = 0): number {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min) this.fail(`--${name} must be a number of at least ${min}, not '${value}'`);
    return n;
  }

  fail(message: string): never {
    console.error(`${this.command}: ${message}\n${this.usage}`);
    process.exit(2);
  }
}
