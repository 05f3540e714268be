// Virtual host selection by :authority, in Envoy's order: exact domain, then the longest suffix
// wildcard ("*.foo.com", "*-bar.foo.com"), then the longest prefix wildcard ("foo.*"), then "*".
// Case-insensitive. A wildcard never matches an empty string. A domain that names a port matches
// only an authority with that port; the others see the authority with its port stripped.
import { portStart } from './request.ts';

// Wildcards of one kind grouped by the length of their literal part, longest first: one substring
// and one Map lookup per distinct length, as Envoy's findWildcardVirtualHost.
class WildcardIndex<T> {
  private readonly groups: { length: number; byLiteral: Map<string, T> }[] = [];
  private readonly fromEnd: boolean;

  constructor(fromEnd: boolean) {
    this.fromEnd = fromEnd;
  }

  add(literal: string, value: T): boolean {
    let group = this.groups.find((g) => g.length === literal.length);
    if (group === undefined) {
      group = { length: literal.length, byLiteral: new Map() };
      this.groups.push(group);
      this.groups.sort((a, b) => b.length - a.length);
    }
    if (group.byLiteral.has(literal)) return false;
    group.byLiteral.set(literal, value);
    return true;
  }

  find(host: string): T | undefined {
    for (let i = 0; i < this.groups.length; i++) {
      const { length, byLiteral } = this.groups[i];
      if (length >= host.length) continue; // the '*' must stand for at least one character
      const found = byLiteral.get(this.fromEnd ? host.slice(host.length - length) : host.slice(0, length));
      if (found !== undefined) return found;
    }
    return undefined;
  }
}

class DomainIndex<T> {
  private readonly exact = new Map<string, T>();
  private readonly suffixes = new WildcardIndex<T>(true);
  private readonly prefixes = new WildcardIndex<T>(false);
  private empty = true;

  // false when the domain is already taken
  add(domain: string, value: T): boolean {
    this.empty = false;
    if (domain.startsWith('*')) return this.suffixes.add(domain.slice(1), value);
    if (domain.endsWith('*')) return this.prefixes.add(domain.slice(0, -1), value);
    if (this.exact.has(domain)) return false;
    this.exact.set(domain, value);
    return true;
  }

  find(host: string): T | undefined {
    if (this.empty) return undefined;
    return this.exact.get(host) ?? this.suffixes.find(host) ?? this.prefixes.find(host);
  }
}

export class VirtualHostSelector<T> {
  private readonly withPort = new DomainIndex<T>();
  private readonly withoutPort = new DomainIndex<T>();
  private anyDomain: T | undefined;

  // Throws on a duplicate domain, which Envoy rejects as a config error.
  add(domain: string, value: T): void {
    const lower = domain.toLowerCase();
    let added: boolean;
    if (lower === '*') {
      added = this.anyDomain === undefined;
      this.anyDomain ??= value;
    } else {
      added = (portStart(lower) === -1 ? this.withoutPort : this.withPort).add(lower, value);
    }
    if (!added) throw new Error(`domain ${JSON.stringify(domain)} appears in more than one virtual host`);
  }

  // ignorePort: the route config's ignore_port_in_host_matching, so domains that name a port never match.
  find(authority: string, ignorePort = false): T | undefined {
    const host = authority.toLowerCase();
    const colon = portStart(host);
    if (colon === -1) return this.withoutPort.find(host) ?? this.anyDomain;
    if (ignorePort) return this.withoutPort.find(host.slice(0, colon)) ?? this.anyDomain;
    return this.withPort.find(host) ?? this.withoutPort.find(host.slice(0, colon)) ?? this.anyDomain;
  }
}
