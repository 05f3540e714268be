import { Command, InvalidArgumentError } from 'commander';
import { apply, clean, IptablesError } from './apply.ts';
import { parseCidr } from './cidr.ts';
import { captureOptions, CaptureOptionsError, defaultCaptureOptions, isPort, type CaptureOptions } from './options.ts';
import { buildRules } from './rules.ts';

interface CaptureFlags {
  proxyUid: number;
  proxyGid?: number;
  inboundPort: number;
  outboundPort: number;
  adminPort: number;
  includeInboundPorts: '*' | number[];
  excludeInboundPorts: number[];
  includeOutboundCidrs: '*' | string[];
  excludeOutboundCidrs: string[];
  excludeOutboundPorts: number[];
  ipv6: boolean;
}

/** Adds `iptables print|apply|clean` to a commander program (`legate iptables ...`). */
export function registerIptablesCommand(program: Command): Command {
  const iptables = program
    .command('iptables')
    .description("traffic capture rules for a sidecar's network namespace (nat table, Istio's chain shapes)");

  withCaptureFlags(iptables.command('print'))
    .description('print the iptables-restore input (and the ip6tables-restore input) without applying it')
    .action((flags: CaptureFlags, command: Command) => {
      const options = toOptions(flags, command);
      const out = [`# iptables-restore --noflush\n${buildRules(options, 4)}`];
      if (flags.ipv6) out.push(`# ip6tables-restore --noflush\n${buildRules(options, 6)}`);
      process.stdout.write(out.join(''));
    });

  withCaptureFlags(iptables.command('apply'))
    .description('install the capture rules in the current network namespace (replaces earlier ones; needs root)')
    .action(async (flags: CaptureFlags, command: Command) => {
      await report(command, apply(toOptions(flags, command), { ipv6: flags.ipv6 }));
    });

  withFamilyFlags(iptables.command('clean'))
    .description("remove Legate's capture rules and chains from the current network namespace (needs root)")
    .action(async (flags: Pick<CaptureFlags, 'ipv6'>, command: Command) => {
      await report(command, clean({ ipv6: flags.ipv6 }));
    });

  return iptables;
}

function withCaptureFlags(command: Command): Command {
  const d = defaultCaptureOptions;
  return withFamilyFlags(
    command
      .option('--proxy-uid <uid>', "the proxy's user id: its connections are never captured", parseId, d.proxyUid)
      .option('--proxy-gid <gid>', "the proxy's group id (default: the proxy uid)", parseId)
      .option('--inbound-port <port>', 'port captured inbound connections are redirected to', parsePort, d.inboundPort)
      .option('--outbound-port <port>', 'port captured outbound connections are redirected to', parsePort, d.outboundPort)
      .option('--admin-port <port>', 'admin port, never captured inbound', parsePort, d.adminPort)
      .option('--include-inbound-ports <ports>', "'*' or comma-separated ports to capture inbound", parsePortsOrAll, '*')
      .option('--exclude-inbound-ports <ports>', 'comma-separated ports never captured inbound', parsePorts, [])
      .option('--include-outbound-cidrs <cidrs>', "'*' or comma-separated CIDRs to capture outbound", parseCidrsOrAll, '*')
      .option('--exclude-outbound-cidrs <cidrs>', 'comma-separated CIDRs never captured outbound', parseCidrs, [])
      .option('--exclude-outbound-ports <ports>', 'comma-separated ports never captured outbound', parsePorts, []),
  );
}

function withFamilyFlags(command: Command): Command {
  return command.option('--ipv6', 'also write IPv6 rules with ip6tables (default)', true).option('--no-ipv6', 'IPv4 only');
}

function toOptions(flags: CaptureFlags, command: Command): CaptureOptions {
  try {
    return captureOptions(flags);
  } catch (error) {
    if (error instanceof CaptureOptionsError) command.error(`legate iptables: ${error.message}`);
    throw error;
  }
}

async function report(command: Command, work: Promise<void>): Promise<void> {
  try {
    await work;
  } catch (error) {
    if (error instanceof IptablesError) command.error(`legate iptables ${command.name()}: ${error.message}`);
    throw error;
  }
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || !isPort(port)) throw new InvalidArgumentError('Not a port (1-65535).');
  return port;
}

function parseId(text: string): number {
  if (!/^\d+$/.test(text)) throw new InvalidArgumentError('Not a numeric user or group id.');
  return Number(text);
}

function list(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function parsePorts(text: string): number[] {
  return list(text).map(parsePort);
}

function parsePortsOrAll(text: string): '*' | number[] {
  return text.trim() === '*' ? '*' : parsePorts(text);
}

function parseCidrs(text: string): string[] {
  return list(text).map((item) => {
    try {
      return parseCidr(item).text;
    } catch (error) {
      throw new InvalidArgumentError(`${(error as Error).message}.`);
    }
  });
}

function parseCidrsOrAll(text: string): '*' | string[] {
  return text.trim() === '*' ? '*' : parseCidrs(text);
}

// Run on its own (`node iptables/cli.ts iptables apply ...`): tests and images without the full CLI.
if (import.meta.main) {
  const program = new Command('legate');
  registerIptablesCommand(program);
  await program.parseAsync();
}
